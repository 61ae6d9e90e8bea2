//! Screening by the pixels themselves: exact fingerprints (the SHA-256 of each training image's
//! 8-bit pixels) and near duplicates (the nearest training image of the sample's class within a
//! tolerance), for services that must accept re-encoded uploads.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::data::Dataset;

/// The SHA-256 of every training image: a sample passes only if its pixels are one of them.
#[derive(Debug, Clone)]
pub struct Fingerprints(HashSet<[u8; 32]>);

impl Fingerprints {
    /// Hashes every image of `train`.
    pub fn of(train: &Dataset) -> Self {
        Self((0..train.len()).map(|i| digest(train.image(i))).collect())
    }

    /// Bytes of the digests kept (32 a training image; the set's own overhead aside).
    pub fn bytes(&self) -> usize {
        self.0.len() * 32
    }

    /// Whether `image` is, pixel for pixel, one of the training images.
    pub fn holds(&self, image: &[u8]) -> bool {
        self.0.contains(&digest(image))
    }
}

fn digest(image: &[u8]) -> [u8; 32] {
    Sha256::digest(image).into()
}

/// The root-mean-square difference of two images' pixel values (0-255 scale): 0 for the same
/// image, about 1-3 for a JPEG re-encoding at quality 90 of a CIFAR image.
pub fn rms_distance(a: &[u8], b: &[u8]) -> f64 {
    (squared(a, b, u64::MAX) as f64 / a.len().max(1) as f64).sqrt()
}

/// The summed squared difference, given up (returning a value above `bound`) once it passes
/// `bound`.
fn squared(a: &[u8], b: &[u8], bound: u64) -> u64 {
    let mut sum = 0u64;
    for (x, y) in a.chunks(256).zip(b.chunks(256)) {
        sum += x
            .iter()
            .zip(y)
            .map(|(&p, &q)| (i32::from(p) - i32::from(q)).pow(2) as u64)
            .sum::<u64>();
        if sum > bound {
            return sum;
        }
    }
    sum
}

/// The RMS distance (see [`rms_distance`]) from `image` to the nearest image of class `class`
/// in `train`; infinite when the class has none.
pub fn nearest_distance(train: &Dataset, class: u16, image: &[u8]) -> f64 {
    let mut best = u64::MAX;
    for i in (0..train.len()).filter(|&i| train.labels[i] == class) {
        best = best.min(squared(train.image(i), image, best));
        if best == 0 {
            break;
        }
    }
    if best == u64::MAX {
        return f64::INFINITY;
    }
    (best as f64 / image.len().max(1) as f64).sqrt()
}
