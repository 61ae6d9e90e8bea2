//! A network answering batches of images in inference mode (batch-norm on its running
//! statistics, no dropout, no autodiff graph): on flex through the fused CPU path
//! ([`super::fused`]), on any other backend through burn's generic path on the device. The
//! attacks' oracle, the evaluations and the benchmark's inference all go through here.

use burn::prelude::*;

use super::Cnn;
use super::fused::FusedCnn;
use crate::data::ImageShape;
use crate::error::Result;
use crate::tensor::read_f32;

/// Images per forward pass on the generic path (and per batch the evaluations hand in).
pub const BATCH: usize = 256;

/// A network in inference mode, ready to answer batches.
#[derive(Debug, Clone)]
pub struct Inference {
    model: Cnn,
    device: Device,
    shape: ImageShape,
    fused: Option<FusedCnn>,
}

impl Inference {
    /// `model` in inference mode for images of `shape`, packed for the fused path when it lives
    /// on flex.
    pub fn new(model: &Cnn, shape: ImageShape) -> Self {
        let model = model.valid();
        Self {
            fused: FusedCnn::pack(&model, shape),
            device: model.device(),
            model,
            shape,
        }
    }

    /// The network (in inference mode) behind the answers.
    pub fn model(&self) -> &Cnn {
        &self.model
    }

    /// The logits of `scaled` images (CHW, one after the other, in the model's input range:
    /// [`super::input::scaled`]), one row of class scores per image.
    pub async fn logits(&self, scaled: &[f32]) -> Result<Vec<f32>> {
        if let Some(fused) = &self.fused {
            return Ok(fused.logits(scaled));
        }
        let s = self.shape;
        let mut out = Vec::new();
        for chunk in scaled.chunks(BATCH * s.len()) {
            let n = chunk.len() / s.len();
            let x = Tensor::from_data(
                TensorData::new(chunk.to_vec(), [n, s.channels, s.height, s.width]),
                &self.device,
            );
            out.extend(read_f32(self.model.forward(x)).await?);
        }
        Ok(out)
    }

    /// Class probabilities (the softmax of [`Self::logits`]), one row per image.
    pub async fn probabilities(&self, scaled: &[f32]) -> Result<Vec<f32>> {
        let mut rows = self.logits(scaled).await?;
        let classes = self.model.output.weight.dims()[1];
        for row in rows.chunks_exact_mut(classes) {
            softmax(row);
        }
        Ok(rows)
    }
}

/// Turns one row of logits into probabilities in place.
pub fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
}

/// The cross-entropy of one row of logits against class `target`, in f64.
pub fn cross_entropy(row: &[f32], target: usize) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = row.iter().map(|&v| f64::from(v - max).exp()).sum();
    sum.ln() - f64::from(row[target] - max)
}
