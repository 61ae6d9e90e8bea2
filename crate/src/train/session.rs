//! A training run as a value, one epoch at a time. Its whole state (weights, optimiser, random
//! streams, kept weights, history) lives here, so between epochs it can be written out as a
//! [`Checkpoint`] and resumed from one with the same numbers as a run that never stopped.
//!
//! Randomness: shuffling and augmentation draw from seeded streams whose positions a checkpoint
//! records; the backend's generator (dropout) is seeded with the run's seed before the weights
//! are drawn and reseeded from it at the start of every later epoch, so an epoch's dropout masks
//! depend on the seed and the epoch alone.

use std::ops::ControlFlow;

use burn::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng as _, RngCore as _};
use web_time::Instant;

use super::checkpoint::{self, Checkpoint, CheckpointState};
use super::{EpochSummary, Outcome, Progress, StepProgress, Stepper, TrainConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::metrics::{self, Evaluation};
use crate::model::{Cnn, ModelConfig, Trained, dropout, input};
use crate::rng::{self, Rng};
use crate::tensor::read_f32;

/// A training run in progress.
pub struct Session {
    pub(super) model: ModelConfig,
    pub(super) config: TrainConfig,
    pub(super) seed: u64,
    pub(super) class_names: Vec<String>,
    /// The network being trained, on the autodiff device (taken out during a step, so the
    /// optimiser holds the only reference to its tensors and may update them in place).
    net: Option<Cnn>,
    pub(super) stepper: Stepper,
    pub(super) order: Vec<usize>,
    pub(super) shuffle: Rng,
    pub(super) augment: Rng,
    pub(super) best: Trained,
    /// The kept weights' score (validation loss; minus the epoch without validation).
    pub(super) best_loss: f64,
    pub(super) best_epoch: usize,
    pub(super) history: Vec<EpochSummary>,
    /// Wall time spent in finished epochs, earlier sessions included.
    pub(super) seconds: f64,
    cancelled: bool,
}

impl Session {
    /// A fresh run of `model` architecture on `train` (weights drawn on `device`, a plain
    /// device, seeded by `seed`).
    pub fn new(
        model: &ModelConfig,
        config: &TrainConfig,
        train: &Dataset,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
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
        dropout::seed(device, seed, false);
        let ad_device = device.clone().autodiff();
        let net = model.init(&ad_device)?;
        let best = Trained {
            model: net.valid(),
            config: model.clone(),
            class_names: train.class_names.clone(),
        };
        Ok(Self {
            model: model.clone(),
            config: config.clone(),
            seed,
            class_names: train.class_names.clone(),
            net: Some(net),
            stepper: Stepper::new(config.optimizer, config.learning_rate, &ad_device),
            order: (0..train.len()).collect(),
            shuffle: rng::stream(seed, "train/shuffle"),
            augment: rng::stream(seed, "train/augment"),
            best,
            best_loss: f64::INFINITY,
            best_epoch: 0,
            history: Vec::new(),
            seconds: 0.0,
            cancelled: false,
        })
    }

    /// The same run starting from `start`'s weights (a plain network) instead of fresh ones:
    /// SISA's slices go on from the model of the slice before.
    pub fn starting_from(mut self, start: &Cnn) -> Self {
        self.net = Some(start.differentiable(&start.device()));
        self.best.model = start.clone();
        self
    }

    /// Continues the run `checkpoint` holds, on `device` (a plain device), for `config`: the
    /// checkpoint's settings with more `epochs` or another `patience` if wanted; any other
    /// change is refused, since the result would be neither run.
    pub fn resume(checkpoint: &Checkpoint, config: &TrainConfig, device: &Device) -> Result<Self> {
        config.validate()?;
        let state = &checkpoint.state;
        let comparable = TrainConfig {
            epochs: state.config.epochs,
            patience: state.config.patience,
            ..config.clone()
        };
        if comparable != state.config {
            return Err(Error::config(
                "resume",
                "only epochs and patience may change when a run resumes; the other training \
                 settings must be the checkpoint's",
            ));
        }
        let ad_device = device.clone().autodiff();
        let net = checkpoint.network(device)?;
        let best = Trained::weights_from_bytes(&checkpoint.best, device, "checkpoint best.bin")?;
        let mut stepper = Stepper::new(config.optimizer, config.learning_rate, &ad_device);
        stepper.optimizer = stepper
            .optimizer
            .from_bytes(burn::tensor::Bytes::from_bytes_vec(
                checkpoint.optimizer.clone(),
            ))
            .map_err(|e| Error::config("resume", format!("optimizer state: {e}")))?;
        Ok(Self {
            model: best.config.clone(),
            config: config.clone(),
            seed: state.seed,
            class_names: best.class_names.clone(),
            net: Some(net),
            stepper,
            order: state.order.clone(),
            shuffle: checkpoint::stream_at(state.seed, "train/shuffle", &state.shuffle_position)?,
            augment: checkpoint::stream_at(state.seed, "train/augment", &state.augment_position)?,
            best,
            best_loss: state.best_loss.unwrap_or(f64::INFINITY),
            best_epoch: state.best_epoch,
            history: state.history.clone(),
            seconds: state.seconds,
            cancelled: false,
        })
    }

    /// Epochs finished so far.
    pub fn epochs_done(&self) -> usize {
        self.history.len()
    }

    /// Whether the run is over: every epoch done, patience run out, or stopped by the host.
    pub fn is_done(&self) -> bool {
        let done = self.epochs_done();
        self.cancelled
            || done >= self.config.epochs
            || self
                .config
                .patience
                .is_some_and(|p| done > 0 && done - self.best_epoch >= p)
    }

    /// Trains one epoch on `train` and validates on `validation`; `device` is the plain device.
    /// If the host stops it during the epoch, the epoch is dropped and the run is over.
    pub async fn epoch(
        &mut self,
        train: &Dataset,
        validation: &Dataset,
        device: &Device,
        observe: &mut impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<()> {
        if train.len() != self.order.len() {
            return Err(Error::config(
                "resume",
                format!(
                    "the run trained on {} images, this dataset has {}",
                    self.order.len(),
                    train.len()
                ),
            ));
        }
        let epoch = self.epochs_done() + 1;
        if epoch > 1 {
            // Every parameter was drawn in the first epoch: only dropout draws from here.
            let seed = rng::stream(self.seed, &format!("train/epoch-{epoch}")).next_u64();
            dropout::seed(device, seed, true);
        }
        let ad_device = device.clone().autodiff();
        let epoch_start = Instant::now();
        let batch_size = self.config.batch_size;
        let steps = train.len().div_ceil(batch_size);
        self.order.shuffle(&mut self.shuffle);
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0.0, 0usize);
        for step in 0..steps {
            let batch = &self.order[step * batch_size..((step + 1) * batch_size).min(train.len())];
            let flips: Vec<bool> = if self.config.augment {
                batch
                    .iter()
                    .map(|_| self.augment.random_bool(0.5))
                    .collect()
            } else {
                Vec::new()
            };
            let images = input::images_flipped(train, batch, &flips, &ad_device);
            let targets = input::labels(train, batch, &ad_device);
            let net = self
                .net
                .take()
                .expect("the network is back after every step");
            let (net, stats) = self.stepper.step(net, images, targets);
            self.net = Some(net);
            let stats = read_f32(stats).await?;
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
                epochs: self.config.epochs,
                step: step + 1,
                steps,
                loss: batch_loss,
                accuracy: batch_hits / batch.len() as f64,
                images: batch.len(),
                images_per_sec: seen as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9),
            });
            if observe(&progress).is_break() {
                self.cancelled = true;
                return Ok(());
            }
            crate::host::yield_now().await;
        }
        let images_per_sec = seen as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9);
        let val: Option<Evaluation> = if validation.is_empty() {
            None
        } else {
            Some(metrics::evaluate(self.network(), validation).await?)
        };
        let score = val.as_ref().map_or(-(epoch as f64), |v| v.loss);
        let improved = score < self.best_loss;
        if improved {
            self.best = Trained {
                model: self.network().valid(),
                config: self.model.clone(),
                class_names: self.class_names.clone(),
            };
            self.best_loss = score;
            self.best_epoch = epoch;
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
        self.seconds += summary.seconds;
        self.history.push(summary.clone());
        if observe(&Progress::Epoch(summary)).is_break() {
            self.cancelled = true;
        }
        Ok(())
    }

    /// The network being trained.
    fn network(&self) -> &Cnn {
        self.net
            .as_ref()
            .expect("the network is back after every step")
    }

    /// The run's state after its last finished epoch.
    pub async fn checkpoint(&self) -> Result<Checkpoint> {
        let current = Trained {
            model: self.network().valid(),
            config: self.model.clone(),
            class_names: self.class_names.clone(),
        };
        Ok(Checkpoint {
            state: CheckpointState {
                version: crate::VERSION.to_string(),
                config: self.config.clone(),
                seed: self.seed,
                history: self.history.clone(),
                best_epoch: self.best_epoch,
                best_loss: self.best_loss.is_finite().then_some(self.best_loss),
                order: self.order.clone(),
                shuffle_position: self.shuffle.get_word_pos().to_string(),
                augment_position: self.augment.get_word_pos().to_string(),
                param_ids: checkpoint::param_ids(self.network()),
                seconds: self.seconds,
            },
            weights: current.weights_to_bytes().await?,
            best: self.best.weights_to_bytes().await?,
            optimizer: self
                .stepper
                .optimizer
                .into_bytes()
                .map_err(|e| Error::config("checkpoint", format!("optimizer state: {e}")))?
                .to_vec(),
        })
    }

    /// The run's result: the kept weights and the history.
    pub fn finish(self) -> Outcome {
        Outcome {
            trained: self.best,
            history: self.history,
            best_epoch: self.best_epoch,
            cancelled: self.cancelled,
            seconds: self.seconds,
        }
    }
}
