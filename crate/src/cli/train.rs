//! `overunlearn train`: a training run from flags, a model file and a report.

use std::path::{Path, PathBuf};

use clap::Args;
use overunlearn::metrics;
use overunlearn::model::file::Precision;
use overunlearn::pretrained::{self, PretrainedReport};
use overunlearn::train::{Checkpoint, Optimizer, TrainConfig};
use overunlearn::training_run::{self, ModelFile, RunConfig, RunReport, model_file};
use overunlearn::{Error, Result};

use super::RunConfigArgs;
use super::progress::TrainBar;

/// Flags of `overunlearn train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    common: RunConfigArgs,
    #[command(flatten)]
    training: TrainingArgs,
    /// Save the run's state in this folder after every epoch, so `--resume` can go on from it.
    #[arg(long, value_name = "DIR")]
    checkpoint: Option<PathBuf>,
    /// Go on with the run checkpointed in this folder (its config and data settings; only
    /// --epochs and --patience may change). Keeps checkpointing there.
    #[arg(long, value_name = "DIR", conflicts_with = "checkpoint")]
    resume: Option<PathBuf>,
    /// Where to save the trained model.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Ship the trained model as `models/NAME.bin` with its record `models/NAME.json` (run,
    /// history, SHA-256, whole-test-split accuracy), loadable by name by the CLI and the page.
    #[arg(long, value_name = "NAME", requires = "description")]
    ship: Option<String>,
    /// One sentence on the shipped model (with --ship).
    #[arg(long, requires = "ship")]
    description: Option<String>,
    /// Also keep the network after every epoch as a model file of the run, `DIR/epoch-E.bin`
    /// (with --checkpoint or --resume), to measure along the training: the saved model is the
    /// lowest validation loss's.
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,
    /// How the saved (and shipped) model stores its weights: f32, or f16 to halve the file;
    /// below f32 the test is run again on the rounded weights, so the report is the file's.
    #[arg(long, default_value_t = Precision::F32)]
    precision: Precision,
}

/// The training run's subsets and training settings (train, and convert for its run).
#[derive(Debug, Args)]
pub struct TrainingArgs {
    /// Classes to keep, by name or index, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    classes: Vec<String>,
    /// Training images per class, drawn with the seed (default: all).
    #[arg(long)]
    per_class: Option<usize>,
    /// Test images per class (default: the whole test split).
    #[arg(long)]
    test_per_class: Option<usize>,
    /// Training epochs (default 10; with --resume, the checkpoint's unless given).
    #[arg(long)]
    epochs: Option<usize>,
    /// Images per step.
    #[arg(long, default_value_t = TrainConfig::default().batch_size)]
    batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
    lr: f64,
    /// Stop after this many epochs without a better validation loss.
    #[arg(long)]
    patience: Option<usize>,
    /// Mirror training images left-right at random (seeded); the paper does not.
    #[arg(long)]
    augment: bool,
    /// Optimiser: adam (burn's) or amsgrad (the reference's Keras Adam with AMSGrad, epsilon
    /// 1e-7). Default: amsgrad for the paper preset, adam for the others.
    #[arg(long)]
    optimizer: Option<Optimizer>,
}

impl TrainingArgs {
    /// The run the flags describe: `common`'s settings, then these.
    pub(super) fn config(&self, common: &RunConfigArgs) -> RunConfig {
        let mut config = common.config();
        config.train_subset.classes = self.classes.clone();
        config.train_subset.per_class = self.per_class;
        config.test_per_class = self.test_per_class;
        let defaults = TrainConfig::for_preset(config.preset);
        config.train = TrainConfig {
            epochs: self.epochs.unwrap_or(defaults.epochs),
            batch_size: self.batch_size,
            learning_rate: self.lr,
            patience: self.patience,
            augment: self.augment,
            optimizer: self.optimizer.unwrap_or(defaults.optimizer),
        };
        config
    }
}

/// Trains (or resumes), tests, saves and reports.
pub fn train(args: TrainArgs) -> Result<()> {
    let (config, resume) = match &args.resume {
        Some(dir) => {
            let (mut config, checkpoint) = training_run::load_checkpoint(dir)?;
            config.train.epochs = args.training.epochs.unwrap_or(config.train.epochs);
            config.train.patience = args.training.patience.or(config.train.patience);
            eprintln!(
                "resuming {} after epoch {} of {}",
                dir.display(),
                checkpoint.state.history.len(),
                config.train.epochs
            );
            (config, Some(checkpoint))
        }
        None => (args.training.config(&args.common), None),
    };
    config.validate()?;
    let folder = args.resume.as_ref().or(args.checkpoint.as_ref());
    if let (Some(dir), None) = (&args.snapshots, folder) {
        return Err(Error::config(
            "snapshots",
            format!(
                "{}: snapshots are taken of the checkpoint after each epoch: give --checkpoint \
                 DIR (or --resume DIR) too",
                dir.display()
            ),
        ));
    }
    if let Some(name) = &args.ship {
        pretrained::check_shippable(name, &config)?;
    }
    let data = config.load(&args.common.host.source())?;
    eprintln!(
        "{}: {} training, {} validation, {} test images; {}, backend {}, seed {}",
        config.dataset.name(),
        data.train.len(),
        data.validation.len(),
        data.test.len(),
        config.architecture_name(),
        config.backend,
        config.seed
    );
    let device = super::device(config.backend)?;
    let mut bar = TrainBar::new();
    let (trained, mut report) = match folder {
        Some(dir) => {
            let mut save = |c: &Checkpoint| {
                training_run::save_checkpoint(dir, &config, c)?;
                match &args.snapshots {
                    Some(snapshots) => save_snapshot(snapshots, &config, c),
                    None => Ok(()),
                }
            };
            pollster::block_on(training_run::train_and_test_checkpointed(
                &config,
                &data,
                &device,
                resume.as_ref(),
                &mut save,
                |p| bar.observe(p),
            ))?
        }
        None => pollster::block_on(training_run::train_and_test(&config, &data, &device, |p| {
            bar.observe(p)
        }))?,
    };
    if args.out.is_some() || args.ship.is_some() {
        let bytes = pollster::block_on(trained.to_bytes_at(&config, args.precision))?;
        if args.precision != Precision::F32 {
            let stored = ModelFile::open(&bytes, &device, "the rounded model")?;
            report.test = pollster::block_on(metrics::evaluate(&stored.trained.model, &data.test))?;
            eprintln!(
                "stored at {}: test accuracy {:.2}% on the rounded weights",
                args.precision,
                report.test.accuracy * 100.0
            );
        }
        if let Some(path) = &args.out {
            std::fs::write(path, &bytes).map_err(|e| Error::io(path.display(), e))?;
            eprintln!("model saved to {}", path.display());
        }
        if let Some(name) = &args.ship {
            let description = args.description.as_deref().unwrap_or_default();
            ship(name, description, &bytes, &report)?;
        }
    }
    if args.common.host.json {
        super::print_json(&report);
    } else {
        print_summary(&report);
    }
    Ok(())
}

/// Writes the checkpoint's network as `DIR/epoch-E.bin`, a model file of `config`'s run.
fn save_snapshot(dir: &Path, config: &RunConfig, checkpoint: &Checkpoint) -> Result<()> {
    let bytes = model_file::snapshot(&checkpoint.weights, config, "the checkpoint's network")?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let path = dir.join(format!("epoch-{}.bin", checkpoint.state.history.len()));
    std::fs::write(&path, bytes).map_err(|e| Error::io(path.display(), e))
}

/// Writes `models/NAME.bin` and its record `models/NAME.json`.
fn ship(name: &str, description: &str, bytes: &[u8], report: &RunReport) -> Result<()> {
    let seconds: f64 = report.history.iter().map(|e| e.seconds).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let trained_on = format!(
        "burn {} ({}) natively on {threads} CPU threads, {:.0} s per epoch",
        report.config.backend,
        report.backend,
        seconds / report.history.len().max(1) as f64
    );
    let record = PretrainedReport::from_run(name, description, bytes, report, &trained_on)?;
    let dir = super::models_dir();
    let write = |path: PathBuf, data: &[u8]| {
        std::fs::write(&path, data).map_err(|e| Error::io(path.display(), e))
    };
    write(dir.join(format!("{name}.bin")), bytes)?;
    let json = serde_json::to_string_pretty(&record).expect("a report serialises");
    write(
        dir.join(format!("{name}.json")),
        format!("{json}\n").as_bytes(),
    )?;
    eprintln!("shipped as {}", dir.join(format!("{name}.bin")).display());
    Ok(())
}

/// A human-readable summary of a run's report.
pub fn print_summary(report: &RunReport) {
    println!(
        "test accuracy {:.2}% on {} images (best epoch {}, training {:.1} s, test {:.1} s)",
        report.test.accuracy * 100.0,
        report.test.count,
        report.best_epoch,
        report.timings.train,
        report.timings.test
    );
    super::eval::print_per_class(&report.class_names, &report.test);
}
