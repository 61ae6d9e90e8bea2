//! STL-10 in its official binary format: `*_X.bin` holds 3x96x96 images, channel-major and
//! column-major within a channel; `*_y.bin` holds labels 1..10; `class_names.txt` the names.

use super::source::{Layout, Opened};
use super::{Dataset, ImageShape, Split, parse_names};
use crate::error::{Error, Result};

/// The official STL-10 binary distribution.
pub const LAYOUT: Layout = Layout {
    folder: "stl10_binary",
    archive: "stl10_binary.tar.gz",
};

/// The shape of every image.
pub(crate) const SHAPE: ImageShape = ImageShape {
    channels: 3,
    height: 96,
    width: 96,
};

/// Loads the labelled train or test split, converting images to row-major CHW.
pub fn load(files: &Opened, split: Split) -> Result<Dataset> {
    let names = parse_names(&files.require("class_names.txt")?, 10)?;
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "test",
    };
    let x = files.require(&format!("{prefix}_X.bin"))?;
    let y = files.require(&format!("{prefix}_y.bin"))?;
    let n = SHAPE.len();
    if x.bytes.is_empty() || !x.bytes.len().is_multiple_of(n) {
        return Err(Error::data(
            &x.origin,
            format!(
                "truncated or wrong format: {} bytes is not a whole number of {n}-byte images",
                x.bytes.len()
            ),
        ));
    }
    let count = x.bytes.len() / n;
    if y.bytes.len() != count {
        return Err(Error::data(
            &y.origin,
            format!(
                "{} labels for {count} images in {}",
                y.bytes.len(),
                x.origin
            ),
        ));
    }
    let mut labels = Vec::with_capacity(count);
    for (i, &label) in y.bytes.iter().enumerate() {
        if !(1..=10).contains(&label) {
            return Err(Error::data(
                &y.origin,
                format!("record {i}: label {label} out of range (1 to 10)"),
            ));
        }
        labels.push(u16::from(label - 1));
    }
    let (h, w) = (SHAPE.height, SHAPE.width);
    let mut images = vec![0u8; x.bytes.len()];
    for (src, dst) in x.bytes.chunks_exact(n).zip(images.chunks_exact_mut(n)) {
        for c in 0..SHAPE.channels {
            let plane = c * h * w;
            for col in 0..w {
                for row in 0..h {
                    dst[plane + row * w + col] = src[plane + col * h + row];
                }
            }
        }
    }
    Ok(Dataset {
        class_names: names,
        shape: SHAPE,
        images,
        labels,
    })
}
