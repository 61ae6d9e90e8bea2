//! Training: Adam with the paper's defaults, seeded shuffling, per-epoch validation keeping the
//! checkpoint with the lowest validation loss, progress reports and cancellation.
//!
//! Every tensor read goes through the async API, so the same loop runs natively and in a browser.
//! The host observes each step and each epoch and may stop the run by returning
//! [`ControlFlow::Break`]; the best checkpoint so far is kept.

use std::ops::ControlFlow;

use burn::nn::loss::CrossEntropyLoss;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::Rng as _;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::metrics::{self, Evaluation};
use crate::model::{Cnn, ModelConfig, Trained, input};
use crate::rng;

/// How to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per optimiser step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Stop after this many epochs without a better validation loss (`None`: never).
    pub patience: Option<usize>,
    /// Mirror each training image left-right with probability 1/2 (seeded). The paper trains
    /// without augmentation.
    pub augment: bool,
}

impl Default for TrainConfig {
    /// The paper's settings, with fewer epochs: Adam, lr 1e-3, batch 64.
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 64,
            learning_rate: 1e-3,
            patience: None,
            augment: false,
        }
    }
}

impl TrainConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::config("epochs", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        if !self.learning_rate.is_finite() || self.learning_rate <= 0.0 {
            return Err(Error::config(
                "learning_rate",
                format!("{} is not a finite positive number", self.learning_rate),
            ));
        }
        if self.patience == Some(0) {
            return Err(Error::config("patience", "must be at least 1"));
        }
        Ok(())
    }
}

/// A training step's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepProgress {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Total epochs planned.
    pub epochs: usize,
    /// The step within the epoch, from 1.
    pub step: usize,
    /// Steps per epoch.
    pub steps: usize,
    /// The batch's mean loss.
    pub loss: f64,
    /// The batch's accuracy.
    pub accuracy: f64,
    /// Training throughput over the epoch so far.
    pub images_per_sec: f64,
}

/// An epoch's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Training accuracy over the epoch.
    pub train_accuracy: f64,
    /// Validation loss (`None` without a validation set).
    pub val_loss: Option<f64>,
    /// Validation accuracy.
    pub val_accuracy: Option<f64>,
    /// Whether this epoch's weights are now the kept checkpoint.
    pub best: bool,
    /// Training throughput over the epoch.
    pub images_per_sec: f64,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
}

/// What the host hears during training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Progress {
    /// After each optimiser step.
    Step(StepProgress),
    /// After each epoch's validation.
    Epoch(EpochSummary),
}

/// The result of a training run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The kept checkpoint (lowest validation loss; the last epoch's without validation).
    pub trained: Trained,
    /// One summary per finished epoch.
    pub history: Vec<EpochSummary>,
    /// The epoch of the kept checkpoint (0 if cancelled before the first epoch ended).
    pub best_epoch: usize,
    /// Whether the host stopped the run.
    pub cancelled: bool,
    /// Wall time of the whole run.
    pub seconds: f64,
}

/// The optimiser side of a training step: Adam with its state, the loss and the learning rate.
/// [`train`] and the benchmark ([`crate::bench`]) run exactly this step.
pub struct Stepper {
    adam: ModuleOptimizer,
    loss: CrossEntropyLoss,
    learning_rate: f64,
}

impl Stepper {
    /// Adam (burn's defaults) at `learning_rate`; `device` is the autodiff device.
    pub fn new(learning_rate: f64, device: &Device) -> Self {
        Self {
            adam: AdamConfig::new().init(),
            loss: CrossEntropyLoss::new(None, device),
            learning_rate,
        }
    }

    /// One optimiser step of `net` (on the autodiff device, in training mode) on a batch:
    /// forward, mean cross-entropy, backward, Adam update. Returns the updated network and,
    /// still on the device (read it back once per step), `[mean loss, correct predictions]`.
    pub fn step(
        &mut self,
        net: Cnn,
        images: Tensor<4>,
        targets: Tensor<1, Int>,
    ) -> (Cnn, Tensor<1>) {
        let logits = net.forward(images);
        let loss = self.loss.forward(logits.clone(), targets.clone());
        let hits = logits
            .argmax(1)
            .reshape([-1])
            .equal(targets)
            .int()
            .sum()
            .float();
        let stats = Tensor::cat(
            vec![loss.clone().detach().reshape([1]), hits.reshape([1])],
            0,
        );
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let net = self.adam.step(self.learning_rate, net, grads);
        (net, stats)
    }
}

/// Trains a fresh network of `model` architecture on `train`, validating on `validation`.
/// `device` is a plain device; autodiff is added here. The run is seeded by `seed`.
pub async fn train(
    model: &ModelConfig,
    config: &TrainConfig,
    train: &Dataset,
    validation: &Dataset,
    device: &Device,
    seed: u64,
    mut observe: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Outcome> {
    config.validate()?;
    if train.is_empty() {
        return Err(Error::config("subset", "no training image selected"));
    }
    if train.shape != model.input || train.num_classes() != model.num_classes {
        return Err(Error::config(
            "model",
            "architecture does not match the dataset's images or classes",
        ));
    }
    let start = Instant::now();
    device.seed(seed);
    let ad_device = device.clone().autodiff();
    let mut net = model.init(&ad_device)?;
    let mut stepper = Stepper::new(config.learning_rate, &ad_device);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut shuffle = rng::stream(seed, "train/shuffle");
    let mut augment = rng::stream(seed, "train/augment");
    let steps = train.len().div_ceil(config.batch_size);
    let keep = |net: &Cnn| Trained {
        model: net.valid(),
        config: model.clone(),
        class_names: train.class_names.clone(),
    };
    let mut best = keep(&net);
    let (mut best_loss, mut best_epoch) = (f64::INFINITY, 0);
    let mut history = Vec::new();
    let mut cancelled = false;

    'epochs: for epoch in 1..=config.epochs {
        let epoch_start = Instant::now();
        order.shuffle(&mut shuffle);
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0.0, 0usize);
        for (step, batch) in order.chunks(config.batch_size).enumerate() {
            let flips: Vec<bool> = if config.augment {
                batch.iter().map(|_| augment.random_bool(0.5)).collect()
            } else {
                Vec::new()
            };
            let images = input::images_flipped(train, batch, &flips, &ad_device);
            let targets = input::labels(train, batch, &ad_device);
            let stats;
            (net, stats) = stepper.step(net, images, targets);
            let stats = metrics::read_f32(stats).await?;
            let (batch_loss, batch_hits) = (f64::from(stats[0]), f64::from(stats[1]));
            if !batch_loss.is_finite() {
                return Err(Error::config(
                    "learning_rate",
                    format!(
                        "training diverged (loss {batch_loss} at epoch {epoch}, step {}); lower the learning rate",
                        step + 1
                    ),
                ));
            }
            loss_sum += batch_loss * batch.len() as f64;
            correct += batch_hits;
            seen += batch.len();
            let progress = Progress::Step(StepProgress {
                epoch,
                epochs: config.epochs,
                step: step + 1,
                steps,
                loss: batch_loss,
                accuracy: batch_hits / batch.len() as f64,
                images_per_sec: seen as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9),
            });
            if observe(&progress).is_break() {
                cancelled = true;
                break 'epochs;
            }
            crate::host::yield_now().await;
        }
        let images_per_sec = seen as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9);
        let val: Option<Evaluation> = if validation.is_empty() {
            None
        } else {
            Some(metrics::evaluate(&net, validation, device).await?)
        };
        let score = val.as_ref().map_or(-(epoch as f64), |v| v.loss);
        let improved = score < best_loss;
        if improved {
            best = keep(&net);
            best_loss = score;
            best_epoch = epoch;
        }
        let summary = EpochSummary {
            epoch,
            train_loss: loss_sum / seen as f64,
            train_accuracy: correct / seen as f64,
            val_loss: val.as_ref().map(|v| v.loss),
            val_accuracy: val.as_ref().map(|v| v.accuracy),
            best: improved,
            images_per_sec,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        history.push(summary.clone());
        if observe(&Progress::Epoch(summary)).is_break() {
            cancelled = true;
            break;
        }
        if config.patience.is_some_and(|p| epoch - best_epoch >= p) {
            break;
        }
    }
    Ok(Outcome {
        trained: best,
        history,
        best_epoch,
        cancelled,
        seconds: start.elapsed().as_secs_f64(),
    })
}
