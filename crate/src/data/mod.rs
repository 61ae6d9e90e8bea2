//! Datasets in their official binary formats, read by our own loaders, and the seeded subsets
//! the experiments train and evaluate on.
//!
//! - [`cifar`]: CIFAR-10 (`data_batch_*.bin`, `test_batch.bin`) and CIFAR-100 (`train.bin`, `test.bin`);
//! - [`stl10`]: STL-10 (`*_X.bin` column-major images, `*_y.bin` labels 1..10);
//! - [`source`]: directories, official `.tar.gz` archives and in-memory files;
//! - [`subset`]: seeded, class-balanced subsets and validation splits;
//! - `download` (native only): the official archives, verified by checksum.

pub mod cifar;
#[cfg(not(target_arch = "wasm32"))]
pub mod download;
pub mod source;
pub mod stl10;
pub mod subset;

use serde::{Deserialize, Serialize};

pub use source::{DataSource, Files, Layout, Opened};
pub use subset::{Subset, SubsetSpec};

use crate::error::{Error, Result};

/// The datasets the lab reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    /// CIFAR-10: 10 classes, 32x32.
    Cifar10,
    /// CIFAR-100 with its 100 fine labels.
    Cifar100,
    /// CIFAR-100 with its 20 coarse (superclass) labels.
    Cifar100Coarse,
    /// STL-10: 10 classes, 96x96.
    Stl10,
}

impl DatasetKind {
    /// Every dataset, in the order the CLI lists them.
    pub const ALL: [Self; 4] = [
        Self::Cifar10,
        Self::Cifar100,
        Self::Cifar100Coarse,
        Self::Stl10,
    ];

    /// The name used on the command line and in configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cifar10 => "cifar10",
            Self::Cifar100 => "cifar100",
            Self::Cifar100Coarse => "cifar100coarse",
            Self::Stl10 => "stl10",
        }
    }

    /// The folder and archive names of the official distribution.
    pub fn layout(self) -> Layout {
        match self {
            Self::Cifar10 => cifar::CIFAR10_LAYOUT,
            Self::Cifar100 | Self::Cifar100Coarse => cifar::CIFAR100_LAYOUT,
            Self::Stl10 => stl10::LAYOUT,
        }
    }

    /// The shape of every image.
    pub fn shape(self) -> ImageShape {
        match self {
            Self::Cifar10 | Self::Cifar100 | Self::Cifar100Coarse => cifar::SHAPE,
            Self::Stl10 => stl10::SHAPE,
        }
    }

    /// The number of classes.
    pub fn num_classes(self) -> usize {
        match self {
            Self::Cifar10 | Self::Stl10 => 10,
            Self::Cifar100 => 100,
            Self::Cifar100Coarse => 20,
        }
    }

    /// The official files both splits are read from, as paths under a data directory (for
    /// hosts that fetch them one by one, like the browser). `batches` picks CIFAR-10's training
    /// batch files by number; empty reads every batch present.
    pub fn files(self, batches: &[usize]) -> DataFiles {
        let layout = self.layout();
        let path = |name: &str| format!("{}/{name}", layout.folder);
        let (required, optional) = match self {
            Self::Cifar10 => {
                let mut required = vec![path("batches.meta.txt"), path("test_batch.bin")];
                let batch = |n: &usize| path(&format!("data_batch_{n}.bin"));
                if batches.is_empty() {
                    // Every batch present: the first is needed, the others are welcome.
                    required.push(batch(&1));
                    let others = 2..=cifar::CIFAR10_TRAIN_BATCHES;
                    (required, others.map(|n| batch(&n)).collect())
                } else {
                    required.extend(batches.iter().map(batch));
                    (required, Vec::new())
                }
            }
            Self::Cifar100 | Self::Cifar100Coarse => (
                [
                    "fine_label_names.txt",
                    "coarse_label_names.txt",
                    "train.bin",
                    "test.bin",
                ]
                .map(path)
                .to_vec(),
                Vec::new(),
            ),
            Self::Stl10 => (
                [
                    "class_names.txt",
                    "train_X.bin",
                    "train_y.bin",
                    "test_X.bin",
                    "test_y.bin",
                ]
                .map(path)
                .to_vec(),
                Vec::new(),
            ),
        };
        DataFiles {
            required,
            optional,
            archive: layout.archive.to_string(),
        }
    }

    /// Loads one split from `source` (every CIFAR-10 training batch present).
    pub fn load(self, source: &DataSource, split: Split) -> Result<Dataset> {
        self.read(&source.open(self.layout())?, split, &[])
    }

    /// Reads one split from the opened distribution; `batches` picks CIFAR-10's training batch
    /// files by number (empty: every batch present) and must be empty for the other datasets.
    pub fn read(self, files: &Opened, split: Split, batches: &[usize]) -> Result<Dataset> {
        if !batches.is_empty() && self != Self::Cifar10 {
            return Err(Error::config(
                "batches",
                format!(
                    "only CIFAR-10 has numbered batch files, not {}",
                    self.name()
                ),
            ));
        }
        match self {
            Self::Cifar10 => {
                let batches = (!batches.is_empty()).then_some(batches);
                cifar::load_cifar10(files, split, batches)
            }
            Self::Cifar100 => cifar::load_cifar100(files, split, cifar::Cifar100Labels::Fine),
            Self::Cifar100Coarse => {
                cifar::load_cifar100(files, split, cifar::Cifar100Labels::Coarse)
            }
            Self::Stl10 => stl10::load(files, split),
        }
    }
}

crate::named!(DatasetKind, "dataset");

/// The files a dataset is read from: all of `required` (and whichever of `optional` exist), or
/// the official `archive` that holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFiles {
    /// Paths that must be present.
    pub required: Vec<String>,
    /// Paths read when present.
    pub optional: Vec<String>,
    /// The official archive's file name.
    pub archive: String,
}

/// The official train or test split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The training split.
    Train,
    /// The test split.
    Test,
}

/// Shape of one image: channels, height, width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageShape {
    /// Colour channels (3 for RGB).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl ImageShape {
    /// Bytes (= values) in one image.
    pub fn len(self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether the shape holds no pixel.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// Labelled images, each stored planar (channel, row, column) as `u8`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The class names, indexed by label.
    pub class_names: Vec<String>,
    /// The shape of every image.
    pub shape: ImageShape,
    /// All images, one after another, each `shape.len()` bytes in CHW order.
    pub images: Vec<u8>,
    /// One label per image, each below `class_names.len()`.
    pub labels: Vec<u16>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// The pixels of image `index` (CHW).
    pub fn image(&self, index: usize) -> &[u8] {
        let n = self.shape.len();
        &self.images[index * n..(index + 1) * n]
    }

    /// Images per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes()];
        for &label in &self.labels {
            counts[label as usize] += 1;
        }
        counts
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let mut images = Vec::with_capacity(indices.len() * self.shape.len());
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        Dataset {
            class_names: self.class_names.clone(),
            shape: self.shape,
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// Appends `other`, which must have the same classes and shape.
    pub fn extend(&mut self, other: Dataset) {
        debug_assert_eq!(self.shape, other.shape);
        self.images.extend(other.images);
        self.labels.extend(other.labels);
    }

    /// The index of the class called `name`.
    pub fn class_index(&self, name: &str) -> Result<usize> {
        self.class_names
            .iter()
            .position(|c| c == name)
            .or_else(|| {
                name.parse()
                    .ok()
                    .filter(|&i: &usize| i < self.num_classes())
            })
            .ok_or_else(|| Error::config("class", format!("no class {name:?} in this dataset")))
    }
}

/// Reads a label-names file: one name per line, blank lines ignored.
pub(crate) fn parse_names(file: &source::FileBytes, expected: usize) -> Result<Vec<String>> {
    let text = std::str::from_utf8(&file.bytes)
        .map_err(|_| Error::data(&file.origin, "label names are not UTF-8 text"))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != expected {
        return Err(Error::data(
            &file.origin,
            format!("expected {expected} class names, found {}", names.len()),
        ));
    }
    Ok(names)
}
