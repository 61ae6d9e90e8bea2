//! CIFAR-10 and CIFAR-100 in their official binary formats.
//!
//! A CIFAR-10 record is 1 label byte (0..9) then 3072 pixel bytes (1024 R, 1024 G, 1024 B, each
//! 32x32 row-major). A CIFAR-100 record has 2 label bytes (coarse 0..19, fine 0..99) before the
//! same 3072 pixel bytes.

use super::source::{FileBytes, Layout, Opened};
use super::{Dataset, ImageShape, Split, parse_names};
use crate::error::{Error, Result};

/// The official CIFAR-10 binary distribution.
pub const CIFAR10_LAYOUT: Layout = Layout {
    folder: "cifar-10-batches-bin",
    archive: "cifar-10-binary.tar.gz",
};

/// The official CIFAR-100 binary distribution.
pub const CIFAR100_LAYOUT: Layout = Layout {
    folder: "cifar-100-binary",
    archive: "cifar-100-binary.tar.gz",
};

/// The shape of every image.
pub(crate) const SHAPE: ImageShape = ImageShape {
    channels: 3,
    height: 32,
    width: 32,
};

/// The number of CIFAR-10 training batch files in the official distribution.
pub const CIFAR10_TRAIN_BATCHES: usize = 5;

/// Which CIFAR-100 label to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cifar100Labels {
    /// The 100 fine classes.
    Fine,
    /// The 20 coarse superclasses.
    Coarse,
}

/// Loads CIFAR-10. For the train split, `batches` picks batch files by number (1..=5); `None`
/// takes every batch file present (at least one must be).
pub fn load_cifar10(files: &Opened, split: Split, batches: Option<&[usize]>) -> Result<Dataset> {
    let names = parse_names(&files.require("batches.meta.txt")?, 10)?;
    let batch_files: Vec<FileBytes> = match (split, batches) {
        (Split::Test, _) => vec![files.require("test_batch.bin")?],
        (Split::Train, Some(numbers)) => numbers
            .iter()
            .map(|&n| {
                if !(1..=CIFAR10_TRAIN_BATCHES).contains(&n) {
                    return Err(Error::config(
                        "batches",
                        format!("CIFAR-10 has batches 1 to 5, not {n}"),
                    ));
                }
                files.require(&format!("data_batch_{n}.bin"))
            })
            .collect::<Result<_>>()?,
        (Split::Train, None) => {
            let present: Vec<FileBytes> = (1..=CIFAR10_TRAIN_BATCHES)
                .map(|n| files.get(&format!("data_batch_{n}.bin")))
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .flatten()
                .collect();
            if present.is_empty() {
                return Err(Error::data(
                    files.describe("data_batch_1.bin"),
                    "missing file (no CIFAR-10 training batch found)",
                ));
            }
            present
        }
    };
    let mut dataset = Dataset {
        class_names: names,
        shape: SHAPE,
        images: Vec::new(),
        labels: Vec::new(),
    };
    for file in &batch_files {
        dataset.extend(parse_records(file, &[10], 0, dataset.class_names.clone())?);
    }
    Ok(dataset)
}

/// Loads CIFAR-100 (`train.bin` or `test.bin`) with fine or coarse labels.
pub fn load_cifar100(files: &Opened, split: Split, labels: Cifar100Labels) -> Result<Dataset> {
    let (names_file, count, label_byte) = match labels {
        Cifar100Labels::Fine => ("fine_label_names.txt", 100, 1),
        Cifar100Labels::Coarse => ("coarse_label_names.txt", 20, 0),
    };
    let names = parse_names(&files.require(names_file)?, count)?;
    let data = files.require(match split {
        Split::Train => "train.bin",
        Split::Test => "test.bin",
    })?;
    // Both label bytes are checked, whichever is used.
    parse_records(&data, &[20, 100], label_byte, names)
}

/// Parses fixed-size records of label bytes followed by one 3x32x32 image. Label byte `i` must be
/// below `classes[i]`; the one at `label_at` becomes the image's label.
fn parse_records(
    file: &FileBytes,
    classes: &[usize],
    label_at: usize,
    names: Vec<String>,
) -> Result<Dataset> {
    let label_bytes = classes.len();
    let record = label_bytes + SHAPE.len();
    let bytes = &file.bytes;
    if bytes.is_empty() {
        return Err(Error::data(&file.origin, "file is empty"));
    }
    if !bytes.len().is_multiple_of(record) {
        return Err(Error::data(
            &file.origin,
            format!(
                "truncated or wrong format: {} bytes is not a whole number of {record}-byte records \
                 ({} whole records and {} bytes left over)",
                bytes.len(),
                bytes.len() / record,
                bytes.len() % record
            ),
        ));
    }
    let n = bytes.len() / record;
    let mut images = Vec::with_capacity(n * SHAPE.len());
    let mut labels = Vec::with_capacity(n);
    for (i, rec) in bytes.chunks_exact(record).enumerate() {
        for (&label, &count) in rec.iter().zip(classes) {
            if label as usize >= count {
                return Err(Error::data(
                    &file.origin,
                    format!(
                        "record {i}: label {label} out of range (0 to {})",
                        count - 1
                    ),
                ));
            }
        }
        labels.push(u16::from(rec[label_at]));
        images.extend_from_slice(&rec[label_bytes..]);
    }
    Ok(Dataset {
        class_names: names,
        shape: SHAPE,
        images,
        labels,
    })
}
