//! Unlearning by further training on the request: fine-tuning with random labels (the paper's
//! second method: SGD, lr 0.01, one epoch, batch 64) and gradient ascent on the request's loss.

use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng as _, RngCore as _};
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Result, check_count, check_number};
use crate::metrics::summed_cross_entropy;
use crate::model::{Cnn, dropout, input};
use crate::rng;
use crate::train::TrainConfig;

/// SGD settings of the training-based methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SgdSettings {
    /// Learning rate.
    pub learning_rate: f64,
    /// Passes over the request.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
}

impl Default for SgdSettings {
    /// The paper's: lr 0.01, one epoch, batch 64.
    fn default() -> Self {
        Self {
            learning_rate: 0.01,
            epochs: 1,
            batch_size: 64,
        }
    }
}

impl SgdSettings {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_number("learning_rate", self.learning_rate, 0.0, 1.0, true)?;
        check_count("epochs", self.epochs, 1, 100)?;
        check_count(
            "batch_size",
            self.batch_size,
            1,
            TrainConfig::MAX_BATCH_SIZE,
        )
    }
}

/// Fine-tunes `model` on the request's images under random other labels.
pub async fn random_labels(
    model: &Cnn,
    request: &Dataset,
    settings: &SgdSettings,
    seed: u64,
) -> Result<Cnn> {
    let mut relabelled = request.clone();
    let mut rng = rng::stream(seed, "unlearn/random-labels");
    let classes = request.num_classes() as u16;
    for label in &mut relabelled.labels {
        *label = (*label + rng.random_range(1..classes)) % classes;
    }
    sgd_epochs(model, &relabelled, settings, seed, 1.0)
}

/// Gradient ascent: SGD steps that increase the request's loss under its submitted labels.
pub async fn gradient_ascent(
    model: &Cnn,
    request: &Dataset,
    settings: &SgdSettings,
    seed: u64,
) -> Result<Cnn> {
    sgd_epochs(model, request, settings, seed, -1.0)
}

/// Plain SGD on the mean loss times `sign`, in training mode (batch statistics, dropout), as a
/// training framework's `fit` would run it.
fn sgd_epochs(
    model: &Cnn,
    data: &Dataset,
    settings: &SgdSettings,
    seed: u64,
    sign: f64,
) -> Result<Cnn> {
    settings.validate()?;
    let device = model.device();
    // Dropout draws from the backend's generator: seed it, so the same request and seed give
    // the same model whatever ran before.
    dropout::seed(
        &device,
        rng::stream(seed, "unlearn/sgd-dropout").next_u64(),
        true,
    );
    let ad = device.clone().autodiff();
    let mut net = model.clone().train().fork(&ad);
    let mut sgd = SgdConfig::new().init();
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = rng::stream(seed, "unlearn/sgd-order");
    for _ in 0..settings.epochs {
        order.shuffle(&mut rng);
        for batch in order.chunks(settings.batch_size) {
            let logits = net.forward(input::images(data, batch, &ad));
            let loss = summed_cross_entropy(logits, input::labels(data, batch, &ad))
                .mul_scalar(sign / batch.len() as f64);
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = sgd.step(settings.learning_rate, net, grads);
        }
    }
    Ok(net.valid())
}
