//! Exact unlearning for contrast: SISA (Sharded, Isolated, Sliced, Aggregated training;
//! Bourtoule et al., IEEE S&P 2021). The training set is split into shards, each shard into
//! slices; one model per shard is trained slice after slice (each slice's training goes on from
//! the model after the slice before, on every slice so far) and kept after each slice. The
//! ensemble predicts by averaging the shards' probabilities. A request is unlearned by going
//! back, in each shard that held one of its samples, to the model before the first slice that
//! held one, and training the later slices again without them: the submitted pixels are never
//! used, so crafted images change nothing but which samples are dropped.

use burn::prelude::*;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Result, check_count};
use crate::metrics::{self, Evaluation};
use crate::model::{ModelConfig, Trained, dropout};
use crate::rng;
use crate::train::{self, TrainConfig};

/// How SISA splits the training set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SisaConfig {
    /// Shards: one model each.
    pub shards: usize,
    /// Slices per shard: checkpoints to go back to.
    pub slices: usize,
}

impl Default for SisaConfig {
    fn default() -> Self {
        Self {
            shards: 4,
            slices: 4,
        }
    }
}

impl SisaConfig {
    /// Checks the counts.
    pub fn validate(&self) -> Result<()> {
        check_count("shards", self.shards, 1, 64)?;
        check_count("slices", self.slices, 1, 64)
    }
}

/// Where each training sample lives: its shard and slice (seeded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The shard of each training sample.
    pub shard: Vec<usize>,
    /// The slice (within its shard) of each training sample.
    pub slice: Vec<usize>,
}

impl Layout {
    /// Deals `samples` training samples into `config`'s shards and slices in a seeded order,
    /// as evenly as they go.
    pub fn new(samples: usize, config: SisaConfig, seed: u64) -> Self {
        let mut order: Vec<usize> = (0..samples).collect();
        order.shuffle(&mut rng::stream(seed, "sisa/layout"));
        let (mut shard, mut slice) = (vec![0; samples], vec![0; samples]);
        let per_shard = samples.div_ceil(config.shards).max(1);
        for (k, &i) in order.iter().enumerate() {
            shard[i] = k % config.shards;
            // The position within its shard, cut into `slices` runs.
            slice[i] = (k / config.shards) * config.slices / per_shard;
        }
        Self { shard, slice }
    }

    /// The shards to train again for a request forgetting `sources`, each with the first slice
    /// that held one of them (the training before that slice is kept), by shard.
    pub fn plan(&self, sources: &[usize]) -> Vec<(usize, usize)> {
        let mut plan: Vec<(usize, usize)> = Vec::new();
        for &s in sources {
            let (shard, slice) = (self.shard[s], self.slice[s]);
            match plan.iter_mut().find(|(h, _)| *h == shard) {
                Some(entry) => entry.1 = entry.1.min(slice),
                None => plan.push((shard, slice)),
            }
        }
        plan.sort_unstable();
        plan
    }
}

/// A SISA ensemble with its per-slice models, and the samples forgotten so far.
#[derive(Debug, Clone)]
pub struct Sisa {
    config: SisaConfig,
    layout: Layout,
    /// `models[shard][slice]`: the shard's model after training on slices 0..=slice.
    models: Vec<Vec<Trained>>,
    forgotten: Vec<bool>,
    training: TrainConfig,
    seed: u64,
}

/// What unlearning one request cost SISA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retrained {
    /// The shards trained again, each from the slice it went back to.
    pub shards: Vec<(usize, usize)>,
    /// Slice trainings done (the work, in units of one slice's training).
    pub slice_trainings: usize,
    /// Wall time, in seconds.
    pub seconds: f64,
}

impl Sisa {
    /// Bytes of the models kept (every shard after every slice: 4 bytes a parameter).
    pub fn kept_bytes(&self) -> usize {
        self.models
            .iter()
            .flatten()
            .map(|m| m.model.num_params() * 4)
            .sum()
    }

    /// Trains the ensemble of `model` architecture on `train` (validating each slice's training
    /// on `validation`): `training.epochs` epochs a slice.
    pub async fn train(
        model: &ModelConfig,
        training: &TrainConfig,
        config: SisaConfig,
        train: &Dataset,
        validation: &Dataset,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
        config.validate()?;
        training.validate()?;
        let mut sisa = Self {
            config,
            layout: Layout::new(train.len(), config, seed),
            models: Vec::new(),
            forgotten: vec![false; train.len()],
            training: training.clone(),
            seed,
        };
        for shard in 0..config.shards {
            let start = fresh(model, train, device, sisa.shard_seed(shard))?;
            let slices = sisa
                .train_slices(shard, 0, start, train, validation)
                .await?;
            sisa.models.push(slices);
        }
        Ok(sisa)
    }

    /// Where each training sample lives.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The shards' current models (after their last slice).
    pub fn shard_models(&self) -> Vec<&Trained> {
        self.models.iter().filter_map(|m| m.last()).collect()
    }

    /// Forgets the training samples `sources` (a request's): the shards that held them go back
    /// to the model before their first slice that did and train the later slices again.
    pub async fn unlearn(
        &mut self,
        sources: &[usize],
        train: &Dataset,
        validation: &Dataset,
    ) -> Result<Retrained> {
        let start = web_time::Instant::now();
        sources.iter().for_each(|&s| self.forgotten[s] = true);
        let plan = self.layout.plan(sources);
        let mut slice_trainings = 0;
        for &(shard, from) in &plan {
            let before = match from {
                0 => {
                    let first = &self.models[shard][0];
                    let device = first.model.device();
                    fresh(&first.config, train, &device, self.shard_seed(shard))?
                }
                k => self.models[shard][k - 1].clone(),
            };
            let again = self
                .train_slices(shard, from, before, train, validation)
                .await?;
            slice_trainings += again.len();
            self.models[shard].truncate(from);
            self.models[shard].extend(again);
        }
        Ok(Retrained {
            shards: plan,
            slice_trainings,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// The ensemble's evaluation on `test`: the shards' probabilities averaged.
    pub async fn evaluate(&self, test: &Dataset) -> Result<Evaluation> {
        let all: Vec<usize> = (0..test.len()).collect();
        let classes = test.num_classes();
        let mut mean = vec![0f64; test.len() * classes];
        let models = self.shard_models();
        for model in &models {
            let p = metrics::probabilities(&model.model, test, &all).await?;
            mean.iter_mut().zip(p).for_each(|(m, v)| *m += f64::from(v));
        }
        let scale = 1.0 / models.len().max(1) as f64;
        let rows: Vec<f32> = mean.iter().map(|&m| (m * scale) as f32).collect();
        let predictions = rows.chunks(classes).map(metrics::argmax).collect();
        let loss: f64 = rows
            .chunks(classes)
            .zip(&test.labels)
            .map(|(p, &l)| -f64::from(p[l as usize].max(1e-12)).ln())
            .sum();
        Ok(Evaluation::from_predictions(
            &test.labels,
            predictions,
            classes,
            loss,
        ))
    }

    /// Trains shard `shard`'s slices from `from` on, starting from `start`; returns the model
    /// after each of them.
    async fn train_slices(
        &self,
        shard: usize,
        from: usize,
        mut start: Trained,
        train: &Dataset,
        validation: &Dataset,
    ) -> Result<Vec<Trained>> {
        let mut out = Vec::new();
        for slice in from..self.config.slices {
            let kept: Vec<usize> = (0..train.len())
                .filter(|&i| {
                    self.layout.shard[i] == shard
                        && self.layout.slice[i] <= slice
                        && !self.forgotten[i]
                })
                .collect();
            if !kept.is_empty() {
                let seed = self.shard_seed(shard) ^ ((slice as u64) << 32);
                let outcome = train::train_from(
                    &start,
                    &self.training,
                    &train.select(&kept),
                    validation,
                    seed,
                )
                .await?;
                start = outcome.trained;
            }
            out.push(start.clone());
        }
        Ok(out)
    }

    fn shard_seed(&self, shard: usize) -> u64 {
        self.seed.wrapping_add(shard as u64 * 0x9e37_79b9)
    }
}

/// Fresh weights of `model` architecture for `train`'s classes, drawn with `seed`.
fn fresh(model: &ModelConfig, train: &Dataset, device: &Device, seed: u64) -> Result<Trained> {
    dropout::seed(device, seed, false);
    Ok(Trained {
        model: model.init(device)?,
        config: model.clone(),
        class_names: train.class_names.clone(),
    })
}
