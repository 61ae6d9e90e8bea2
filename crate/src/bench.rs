//! Benchmarks: training and inference throughput of a preset on fixed real images, and the cost
//! of pushing a sample to the decision boundary with each search. The same functions run
//! natively (`overunlearn bench`) and in a browser (the wasm `benchTrain`), and the peers in
//! `tests/bench/` (TensorFlow.js, PyTorch) mirror [`BenchConfig`] exactly.
//!
//! Training runs the real training step ([`Stepper::step`], the one [`crate::train::train`]
//! runs, its loss and accuracy read back after every step) on batches built once from the first
//! images of the dataset, so that only the step is timed. Inference is the network in inference
//! mode ([`Inference`]: the fused CPU path on flex) on batches of
//! [`BenchConfig::inference_batch`] images, logits read back.

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::attack::oracle::Oracle;
use crate::attack::search::{self, EfficientConfig, Goal, PushConfig, Search, ZooConfig};
use crate::backend::BackendKind;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::inference::Inference;
use crate::model::{Preset, Trained, dropout, input};
use crate::tensor::read_f32;
use crate::train::{Optimizer, Stepper};

/// What to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BenchConfig {
    /// The architecture.
    pub preset: Preset,
    /// Images per training step.
    pub batch_size: usize,
    /// Untimed training steps first (and one untimed inference batch).
    pub warmup: usize,
    /// The untimed steps go on until this many seconds passed since the call. A browser
    /// compiles the hot wasm functions again with its optimising compiler, on its own threads,
    /// during the first seconds of a run (Chromium, this project's multi-threaded build: 45% of
    /// a core at 2-3.5 s, 5% at 10-11.5 s): on 2 cores that competes with the training's own
    /// threads, and a few steps of warm-up time the compiler, not the training.
    pub warmup_seconds: f64,
    /// Timed training steps per run.
    pub steps: usize,
    /// Timed runs; the figure is their median.
    pub runs: usize,
    /// Images per inference batch.
    pub inference_batch: usize,
    /// Inference batches per timed run.
    pub inference_batches: usize,
    /// Seeds the initial weights (and dropout).
    pub seed: u64,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            preset: Preset::Tutorial,
            batch_size: 64,
            warmup: 3,
            warmup_seconds: 0.0,
            steps: 10,
            runs: 5,
            inference_batch: 256,
            inference_batches: 4,
            seed: 0,
        }
    }
}

impl BenchConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("batch_size", self.batch_size),
            ("steps", self.steps),
            ("runs", self.runs),
            ("inference_batch", self.inference_batch),
            ("inference_batches", self.inference_batches),
        ] {
            if v == 0 {
                return Err(Error::config(field, "must be at least 1"));
            }
        }
        if !(self.warmup_seconds.is_finite() && self.warmup_seconds >= 0.0) {
            return Err(Error::config(
                "warmup_seconds",
                format!(
                    "{} is not allowed: give a number of seconds, 0 or more",
                    self.warmup_seconds
                ),
            ));
        }
        Ok(())
    }
}

/// Throughput figures of one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// This build's version.
    pub version: String,
    /// The backend measured.
    pub backend: BackendKind,
    /// What was measured.
    pub config: BenchConfig,
    /// Training images per second of each timed run.
    pub train_runs: Vec<f64>,
    /// Their median.
    pub train_images_per_sec: f64,
    /// Inference images per second of each timed run.
    pub inference_runs: Vec<f64>,
    /// Their median.
    pub inference_images_per_sec: f64,
    /// Seconds from the call (network initialisation included) to the end of the first step.
    pub first_step_seconds: f64,
    /// The mean loss of the last step (a sanity check: finite, and below ln 10 after a while).
    pub last_loss: f64,
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The first `count` images of `data` in order, wrapping around when it has fewer.
fn indices(data: &Dataset, start: usize, count: usize) -> Vec<usize> {
    (start..start + count).map(|i| i % data.len()).collect()
}

/// Measures training and inference throughput of `config.preset` on the first images of
/// `data` (the peers read the same images in the same order). `device` is a plain device.
pub async fn bench(
    config: &BenchConfig,
    data: &Dataset,
    backend: BackendKind,
    device: &Device,
) -> Result<BenchReport> {
    config.validate()?;
    if data.is_empty() {
        return Err(Error::config("data", "no image to benchmark on"));
    }
    let start = Instant::now();
    dropout::seed(device, config.seed, false);
    let ad_device = device.clone().autodiff();
    let model = config.preset.config(data.shape, data.num_classes());
    let mut net = model.init(&ad_device)?;
    // Every parameter drawn now (burn draws them at first use), so that only dropout draws
    // during the steps, as in training's later epochs.
    let _ = net.valid();
    dropout::seed(device, config.seed, true);
    let mut stepper = Stepper::new(Optimizer::Adam, 1e-3, &ad_device);
    let distinct = config.steps.max(config.warmup).max(1);
    let batches: Vec<(Tensor<4>, Tensor<1, Int>)> = (0..distinct)
        .map(|k| {
            let idx = indices(data, k * config.batch_size, config.batch_size);
            (
                input::images(data, &idx, &ad_device),
                input::labels(data, &idx, &ad_device),
            )
        })
        .collect();
    let mut first_step_seconds = None;
    let mut last_loss = f64::NAN;
    let mut step = async |net: crate::model::Cnn, k: usize| -> Result<crate::model::Cnn> {
        let (images, targets) = batches[k % batches.len()].clone();
        let (net, stats) = stepper.step(net, images, targets);
        last_loss = f64::from(read_f32(stats).await?[0]);
        first_step_seconds.get_or_insert_with(|| start.elapsed().as_secs_f64());
        Ok(net)
    };
    let mut k = 0;
    while k < config.warmup.max(1) || start.elapsed().as_secs_f64() < config.warmup_seconds {
        net = step(net, k).await?;
        k += 1;
    }
    let mut train_runs = Vec::with_capacity(config.runs);
    for _ in 0..config.runs {
        let t = Instant::now();
        for k in 0..config.steps {
            net = step(net, k).await?;
        }
        let seconds = t.elapsed().as_secs_f64().max(1e-9);
        train_runs.push((config.steps * config.batch_size) as f64 / seconds);
    }
    let first_step_seconds = first_step_seconds.unwrap_or_default();

    // What the oracle and the evaluations run: the fused CPU path on flex.
    let valid = Inference::new(&net, data.shape);
    let inference: Vec<Vec<f32>> = (0..config.inference_batches)
        .map(|k| {
            let idx = indices(data, k * config.inference_batch, config.inference_batch);
            input::scaled(data, &idx)
        })
        .collect();
    valid.logits(&inference[0]).await?;
    let mut inference_runs = Vec::with_capacity(config.runs);
    for _ in 0..config.runs {
        let t = Instant::now();
        for images in &inference {
            valid.logits(images).await?;
        }
        let seconds = t.elapsed().as_secs_f64().max(1e-9);
        inference_runs.push((config.inference_batches * config.inference_batch) as f64 / seconds);
    }
    Ok(BenchReport {
        version: crate::VERSION.to_string(),
        backend,
        config: config.clone(),
        train_images_per_sec: median(&train_runs),
        train_runs,
        inference_images_per_sec: median(&inference_runs),
        inference_runs,
        first_step_seconds,
        last_loss,
    })
}

/// The cost of pushing with one search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushFigures {
    /// The search: `zoo`, `efficient` or `white_box`.
    pub search: String,
    /// Samples attempted (correctly classified test images).
    pub samples: usize,
    /// Of those, pushed across the boundary.
    pub crossed: usize,
    /// Mean queries per attempted sample (white-box: forward and backward passes).
    pub queries_per_sample: f64,
    /// Mean wall time per attempted sample.
    pub seconds_per_sample: f64,
}

/// The three searches with their default settings, in report order.
pub fn searches() -> [(&'static str, Search); 3] {
    [
        ("zoo", Search::Zoo(ZooConfig::default())),
        ("efficient", Search::Efficient(EfficientConfig::default())),
        ("white_box", Search::WhiteBox),
    ]
}

/// Pushes (untargeted, default limits) the first `samples` images of `test` that `trained`
/// classifies correctly, with each search, and reports queries and seconds per sample.
pub async fn push_figures(
    trained: &Trained,
    test: &Dataset,
    samples: usize,
    seed: u64,
) -> Result<Vec<PushFigures>> {
    let oracle = Oracle::new(&trained.model, test.shape, test.num_classes());
    let mut out = Vec::new();
    for (name, search) in searches() {
        let config = PushConfig {
            search,
            ..PushConfig::default()
        };
        let mut oracle = oracle.clone();
        let (mut attempted, mut crossed, mut queries, mut seconds) = (0, 0, 0u64, 0.0);
        for i in 0..test.len() {
            if attempted == samples {
                break;
            }
            let t = Instant::now();
            let before = oracle.queries();
            let result = search::push(
                &mut oracle,
                test.image(i),
                test.labels[i],
                Goal::Untargeted,
                &config,
                seed.wrapping_add(i as u64),
            )
            .await?;
            if result == Err(search::Failure::Misclassified) {
                continue;
            }
            attempted += 1;
            crossed += usize::from(result.is_ok());
            queries += oracle.queries() - before;
            seconds += t.elapsed().as_secs_f64();
        }
        let per = |x: f64| {
            if attempted == 0 {
                0.0
            } else {
                x / attempted as f64
            }
        };
        out.push(PushFigures {
            search: name.to_string(),
            samples: attempted,
            crossed,
            queries_per_sample: per(queries as f64),
            seconds_per_sample: per(seconds),
        });
    }
    Ok(out)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::data::ImageShape;

    fn tiny_data() -> Dataset {
        let shape = ImageShape {
            channels: 3,
            height: 8,
            width: 8,
        };
        let n = 20;
        Dataset {
            shape,
            images: (0..n * shape.len()).map(|i| (i * 37 % 256) as u8).collect(),
            labels: (0..n).map(|i| (i % 2) as u16).collect(),
            class_names: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn bench_reports_finite_positive_figures() {
        let config = BenchConfig {
            batch_size: 8,
            warmup: 1,
            steps: 2,
            runs: 3,
            inference_batch: 16,
            inference_batches: 2,
            ..BenchConfig::default()
        };
        let report = pollster::block_on(bench(
            &config,
            &tiny_data(),
            BackendKind::Flex,
            &Device::flex(),
        ))
        .unwrap();
        assert_eq!(report.train_runs.len(), 3);
        assert!(report.train_images_per_sec > 0.0 && report.inference_images_per_sec > 0.0);
        assert!(report.last_loss.is_finite());
        assert!(report.first_step_seconds > 0.0);
        assert!(
            report
                .train_runs
                .iter()
                .any(|&r| r <= report.train_images_per_sec)
        );
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn zero_steps_are_refused() {
        let config = BenchConfig {
            steps: 0,
            ..BenchConfig::default()
        };
        assert!(config.validate().is_err());
    }
}
