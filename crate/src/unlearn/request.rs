//! What the service accepts: a request names training samples to forget and submits an image
//! and a label for each. The attacker builds this type; the service decides what to do with it.

use rand::seq::SliceRandom;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::metrics::stealth::Stealth;
use crate::rng;

/// A request: the images submitted, their labels, and the training samples they stand for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The submitted images, with the submitted labels.
    pub submitted: Dataset,
    /// Training-set indices of the samples to forget, one per submitted image.
    pub sources: Vec<usize>,
    /// Stealth of each submitted image against its original.
    pub stealth: Vec<Stealth>,
}

impl Request {
    /// A request for `sources` submitting `images` (one per source) with `labels`; the stealth
    /// of each image is measured against its original in `train`.
    pub fn new(train: &Dataset, sources: &[usize], images: Vec<Vec<u8>>, labels: Vec<u16>) -> Self {
        let stealth = sources
            .iter()
            .zip(&images)
            .map(|(&s, img)| Stealth::measure(train.image(s), img, train.shape))
            .collect();
        Self {
            submitted: Dataset {
                class_names: train.class_names.clone(),
                shape: train.shape,
                images: images.concat(),
                labels,
            },
            sources: sources.to_vec(),
            stealth,
        }
    }

    /// The request with only the samples at `indices` (in that order).
    pub fn keep(&self, indices: &[usize]) -> Self {
        Self {
            submitted: self.submitted.select(indices),
            sources: indices.iter().map(|&i| self.sources[i]).collect(),
            stealth: indices.iter().map(|&i| self.stealth[i]).collect(),
        }
    }
}

/// The training indices of a seeded `fraction` of class `class`'s training samples: the samples
/// a user asks to forget.
pub fn forget_set(train: &Dataset, class: u16, fraction: f64, seed: u64) -> Result<Vec<usize>> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(Error::config(
            "percentage",
            format!("{}% is not in (0, 100]", fraction * 100.0),
        ));
    }
    let mut members: Vec<usize> = (0..train.len())
        .filter(|&i| train.labels[i] == class)
        .collect();
    members.shuffle(&mut rng::stream(seed, "request/forget"));
    members.truncate(((members.len() as f64) * fraction).round().max(1.0) as usize);
    members.sort_unstable();
    Ok(members)
}
