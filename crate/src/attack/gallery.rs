//! What a request looks like to a person: a few submitted images beside their originals, with
//! the labels, the model's predictions on both, their stealth and the queries spent.

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::Result;
use crate::metrics::{self, stealth::Stealth};
use crate::model::Cnn;
use crate::unlearn::Request;

/// One submitted image and its original.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Training-set index of the original.
    pub source: usize,
    /// The original image (CHW bytes).
    pub original: Vec<u8>,
    /// The submitted image (CHW bytes).
    pub submitted: Vec<u8>,
    /// The original's true label.
    pub true_label: u16,
    /// The label submitted with the image.
    pub submitted_label: u16,
    /// The model's prediction on the original.
    pub predicted_original: u16,
    /// The model's prediction on the submitted image.
    pub predicted_submitted: u16,
    /// Distances between the two.
    pub stealth: Stealth,
    /// Queries spent crafting it, if it was crafted.
    pub queries: Option<u64>,
}

/// The first `count` samples of `request`; `queries` holds each sample's crafting cost.
pub async fn samples(
    model: &Cnn,
    train: &Dataset,
    request: &Request,
    queries: &[Option<u64>],
    count: usize,
) -> Result<Vec<Sample>> {
    let n = count.min(request.sources.len());
    let shown: Vec<usize> = (0..n).collect();
    let originals = train.select(&request.sources[..n]);
    let classes = train.num_classes();
    let before = metrics::probabilities(model, &originals, &shown).await?;
    let after = metrics::probabilities(model, &request.submitted, &shown).await?;
    Ok((0..n)
        .map(|k| Sample {
            source: request.sources[k],
            original: originals.image(k).to_vec(),
            submitted: request.submitted.image(k).to_vec(),
            true_label: originals.labels[k],
            submitted_label: request.submitted.labels[k],
            predicted_original: metrics::argmax(&before[k * classes..(k + 1) * classes]),
            predicted_submitted: metrics::argmax(&after[k * classes..(k + 1) * classes]),
            stealth: request.stealth[k],
            queries: queries.get(k).copied().flatten(),
        })
        .collect())
}
