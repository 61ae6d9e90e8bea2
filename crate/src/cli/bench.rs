//! `overunlearn bench`: training and inference images per second of a preset on the first
//! CIFAR-10 training images, and optionally the cost of pushing with each search.

use clap::Args;
use overunlearn::Result;
use overunlearn::backend::BackendKind;
use overunlearn::bench::{self, BenchConfig};
use overunlearn::data::{DatasetKind, Split};
use overunlearn::model::Preset;
use overunlearn::train::TrainConfig;
use overunlearn::training_run::{self, RunConfig};
use serde::Serialize;

use super::HostArgs;

/// Flags of `overunlearn bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    host: HostArgs,
    /// Compute backend: flex or wgpu.
    #[arg(long, default_value = "flex")]
    backend: BackendKind,
    /// Architecture preset: paper, lab or tutorial.
    #[arg(long, default_value = "tutorial")]
    preset: Preset,
    /// Images per training step.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Untimed training steps first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Untimed training steps go on until this many seconds passed (a browser's optimising
    /// compiler works during a run's first seconds; natively nothing does).
    #[arg(long, default_value_t = 0.0)]
    warmup_seconds: f64,
    /// Timed training steps per run.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Timed runs (the figure is their median).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Images per inference batch.
    #[arg(long, default_value_t = 256)]
    inference_batch: usize,
    /// Inference batches per timed run.
    #[arg(long, default_value_t = 4)]
    inference_batches: usize,
    /// Also push this many test images with ZOO, the efficient search and white-box, against
    /// a `tutorial` model trained here for `--push-epochs` on CIFAR-10's data_batch_1.
    #[arg(long, default_value_t = 0)]
    push_samples: usize,
    /// Epochs of the model the pushing figures attack.
    #[arg(long, default_value_t = 2)]
    push_epochs: usize,
    /// The seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// The report of `bench --json`.
#[derive(Debug, Serialize)]
struct Report {
    throughput: bench::BenchReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    push: Option<Vec<bench::PushFigures>>,
}

/// Loads data_batch_1, measures and reports.
pub fn bench(args: BenchArgs) -> Result<()> {
    let device = super::device(args.backend)?;
    let kind = DatasetKind::Cifar10;
    let files = args.host.source().open(kind.layout())?;
    let train = kind.read(&files, Split::Train, &[1])?;
    let config = BenchConfig {
        preset: args.preset,
        batch_size: args.batch_size,
        warmup: args.warmup,
        warmup_seconds: args.warmup_seconds,
        steps: args.steps,
        runs: args.runs,
        inference_batch: args.inference_batch,
        inference_batches: args.inference_batches,
        seed: args.seed,
    };
    let throughput = pollster::block_on(bench::bench(&config, &train, args.backend, &device))?;
    if !args.host.json {
        eprintln!(
            "{} on {}: training {:.1} images/s (runs {:.1?}), inference {:.1} images/s, first step after {:.2} s",
            config.preset.name(),
            args.backend,
            throughput.train_images_per_sec,
            throughput.train_runs,
            throughput.inference_images_per_sec,
            throughput.first_step_seconds
        );
    }
    let push = if args.push_samples > 0 {
        let run = RunConfig {
            batches: vec![1],
            preset: Preset::Tutorial,
            train: TrainConfig {
                epochs: args.push_epochs,
                ..TrainConfig::default()
            },
            seed: args.seed,
            ..RunConfig::default()
        };
        let data = run.subsets(&train, &kind.read(&files, Split::Test, &[])?)?;
        let (trained, _) =
            pollster::block_on(training_run::train_and_test(&run, &data, &device, |_| {
                std::ops::ControlFlow::Continue(())
            }))?;
        let figures = pollster::block_on(bench::push_figures(
            &trained,
            &data.test,
            args.push_samples,
            args.seed,
        ))?;
        if !args.host.json {
            for f in &figures {
                eprintln!(
                    "push {}: {}/{} crossed, {:.0} queries and {:.2} s per sample",
                    f.search, f.crossed, f.samples, f.queries_per_sample, f.seconds_per_sample
                );
            }
        }
        Some(figures)
    } else {
        None
    };
    if args.host.json {
        super::print_json(&Report { throughput, push });
    }
    Ok(())
}
