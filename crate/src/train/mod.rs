//! Training: Adam (burn's, or the reference's AMSGrad), seeded shuffling, per-epoch validation
//! keeping the weights with the lowest validation loss, progress reports and cancellation.
//!
//! Every tensor read goes through the async API, so the same loop runs natively and in a browser.
//! The host observes each step and each epoch and may stop the run by returning
//! [`ControlFlow::Break`]; the best weights so far are kept. A run is a [`Session`], one epoch at
//! a time; between epochs it can become a [`Checkpoint`] and continue from one bit for bit.

mod checkpoint;
mod session;

pub use checkpoint::Checkpoint;
pub use session::Session;

use std::ops::ControlFlow;

use burn::nn::loss::CrossEntropyLoss;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Result, check_count, check_number};
use crate::model::{Cnn, ModelConfig, Preset, Trained};

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
    /// The optimiser (configs written before this field existed read as burn's Adam). Adam is
    /// left out when written, so configs (and the keys hashed from them) read as before.
    #[serde(skip_serializing_if = "Optimizer::is_adam")]
    pub optimizer: Optimizer,
}

/// The optimisers training can use, both at the configured learning rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    /// burn's `Adam`: betas 0.9 / 0.999, epsilon 1e-5.
    #[default]
    Adam,
    /// The reference's (`vgg16.py`): Keras's `Adam(amsgrad=True)`, betas 0.9 / 0.999,
    /// epsilon 1e-7; the second moment used is the running maximum (burn's `AdamW` with AMSGrad
    /// and no weight decay).
    Amsgrad,
}

impl Optimizer {
    /// Every optimiser.
    pub const ALL: [Self; 2] = [Self::Adam, Self::Amsgrad];

    /// The name used on the command line and in configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Adam => "adam",
            Self::Amsgrad => "amsgrad",
        }
    }

    /// Whether this is burn's Adam (the default).
    pub fn is_adam(&self) -> bool {
        *self == Self::Adam
    }

    /// A fresh optimiser (no state).
    pub fn init(self) -> ModuleOptimizer {
        match self {
            Self::Adam => AdamConfig::new().init(),
            Self::Amsgrad => AdamWConfig::new()
                .with_amsgrad(true)
                .with_epsilon(1e-7)
                .with_weight_decay(0.0)
                .init(),
        }
    }
}

crate::named!(Optimizer, "optimizer");

impl Default for TrainConfig {
    /// The paper's settings, with fewer epochs: Adam, lr 1e-3, batch 64.
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 64,
            learning_rate: 1e-3,
            patience: None,
            augment: false,
            optimizer: Optimizer::Adam,
        }
    }
}

impl TrainConfig {
    /// The defaults for `preset`: the paper's model trains with the reference's optimiser
    /// (AMSGrad); the lab's presets with burn's Adam, as their documented runs did.
    pub fn for_preset(preset: Preset) -> Self {
        Self {
            optimizer: match preset {
                Preset::Paper => Optimizer::Amsgrad,
                Preset::Lab | Preset::Tutorial => Optimizer::Adam,
            },
            ..Self::default()
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_count("epochs", self.epochs, 1, Self::MAX_EPOCHS)?;
        check_count("batch_size", self.batch_size, 1, Self::MAX_BATCH_SIZE)?;
        check_number("learning_rate", self.learning_rate, 0.0, 1.0, true)?;
        if let Some(patience) = self.patience {
            check_count("patience", patience, 1, Self::MAX_EPOCHS)?;
        }
        Ok(())
    }

    /// The most epochs a run may ask for.
    pub const MAX_EPOCHS: usize = 1_000;
    /// The largest batch a run may ask for.
    pub const MAX_BATCH_SIZE: usize = 4_096;
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
    /// Images in the batch (an epoch's last batch may hold fewer, so its loss and accuracy are
    /// noisier: a chart weighs it by this).
    pub images: usize,
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

/// The optimiser side of a training step: the optimiser with its state, the loss and the
/// learning rate. [`train`] and the benchmark ([`crate::bench`]) run exactly this step.
pub struct Stepper {
    optimizer: ModuleOptimizer,
    loss: CrossEntropyLoss,
    learning_rate: f64,
}

impl Stepper {
    /// A fresh `optimizer` at `learning_rate`; `device` is the autodiff device.
    pub fn new(optimizer: Optimizer, learning_rate: f64, device: &Device) -> Self {
        Self {
            optimizer: optimizer.init(),
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
        // On flex, with rayon's threads waiting for its passes awake; on a GPU they would only
        // spin while the device works.
        if images.device().without_autodiff() == Device::flex() {
            crate::parallel::with_helpers(|| self.step_here(net, images, targets))
        } else {
            self.step_here(net, images, targets)
        }
    }

    /// [`Self::step`] on the calling thread.
    fn step_here(
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
        let net = self.optimizer.step(self.learning_rate, net, grads);
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
    observe: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Outcome> {
    let session = Session::new(model, config, train, device, seed)?;
    run(session, train, validation, device, observe).await
}

/// Trains `start` (a plain network) further on `train` as [`train`] trains a fresh one.
pub async fn train_from(
    start: &Trained,
    config: &TrainConfig,
    train: &Dataset,
    validation: &Dataset,
    seed: u64,
) -> Result<Outcome> {
    let device = start.model.device();
    let session = Session::new(&start.config, config, train, &device, seed)?;
    let session = session.starting_from(&start.model);
    run(session, train, validation, &device, |_| {
        ControlFlow::Continue(())
    })
    .await
}

/// Runs `session` to its end.
async fn run(
    mut session: Session,
    train: &Dataset,
    validation: &Dataset,
    device: &Device,
    mut observe: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Outcome> {
    while !session.is_done() {
        session
            .epoch(train, validation, device, &mut observe)
            .await?;
    }
    Ok(session.finish())
}
