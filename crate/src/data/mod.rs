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

pub use source::{DataSource, Files, Layout};
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

    /// Loads one split from `source`.
    pub fn load(self, source: &DataSource, split: Split) -> Result<Dataset> {
        let files = source.open(self.layout())?;
        match self {
            Self::Cifar10 => cifar::load_cifar10(&files, split, None),
            Self::Cifar100 => cifar::load_cifar100(&files, split, cifar::Cifar100Labels::Fine),
            Self::Cifar100Coarse => {
                cifar::load_cifar100(&files, split, cifar::Cifar100Labels::Coarse)
            }
            Self::Stl10 => stl10::load(&files, split),
        }
    }
}

impl std::str::FromStr for DatasetKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| {
                Error::config(
                    "dataset",
                    format!("unknown dataset {s:?} (expected cifar10, cifar100, cifar100coarse or stl10)"),
                )
            })
    }
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
