//! Command-line parsing and dispatch.

mod bench;
mod convert;
mod crossings;
mod defend;
mod download;
mod eval;
mod progress;
mod reproduce;
mod searches;
mod train;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use overunlearn::backend::BackendKind;
use overunlearn::data::{DataSource, DatasetKind};
use overunlearn::model::Preset;
use overunlearn::pretrained::{self, PretrainedReport};
use overunlearn::training_run::ModelFile;
use overunlearn::training_run::RunConfig;

/// Train, evaluate and attack unlearning on small CNNs (the Over-Unlearning Lab, headless).
#[derive(Debug, Parser)]
#[command(name = "overunlearn", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model on a seeded subset and test it.
    Train(train::TrainArgs),
    /// Evaluate a saved model on the test split.
    Eval(eval::EvalArgs),
    /// Reproduce the paper's over-unlearning experiment (Tables IV and V).
    Reproduce(Box<reproduce::ReproduceArgs>),
    /// Measure the service's defences against many draws of the experiment's requests.
    Defend(Box<defend::DefendArgs>),
    /// Compare the boundary searches (ZOO, efficient, white-box) on the same samples.
    Searches(searches::SearchesArgs),
    /// Download the official dataset archives, verified by checksum.
    Download(download::DownloadArgs),
    /// Measure training, inference and pushing speed (the peers are in tests/bench/).
    Bench(bench::BenchArgs),
    /// Convert a model file of an older format, given the run that trained it.
    Convert(convert::ConvertArgs),
}

/// Where the data is and how to report.
#[derive(Debug, Args)]
struct HostArgs {
    /// Data directory (extracted folders or official archives), or one official .tar.gz archive.
    #[arg(long, env = "OVERUNLEARN_DATA", default_value = "data")]
    data: PathBuf,
    /// Print a machine-readable JSON report on stdout (progress still goes to stderr).
    #[arg(long)]
    json: bool,
}

impl HostArgs {
    fn source(&self) -> DataSource {
        DataSource::from_path(&self.data)
    }
}

/// The flags train, eval, searches, reproduce and convert share: the host's, and the training
/// run's settings. A run setting left out comes from the model file's run (eval, searches,
/// reproduce --model) or from the defaults (train, reproduce, convert).
#[derive(Debug, Args)]
struct RunConfigArgs {
    #[command(flatten)]
    host: HostArgs,
    /// The dataset: cifar10, cifar100, cifar100coarse or stl10 [default: cifar10].
    #[arg(long)]
    dataset: Option<DatasetKind>,
    /// CIFAR-10 training batch files to read, e.g. `--batches 1` or `--batches 1,2,3` [default:
    /// all present].
    #[arg(long, value_delimiter = ',')]
    batches: Option<Vec<usize>>,
    /// Fraction of each class held out for validation [default: 0.1].
    #[arg(long)]
    validation: Option<f64>,
    /// Architecture preset: paper, lab or tutorial [default: lab].
    #[arg(long)]
    preset: Option<Preset>,
    /// VGG blocks when not the preset's three (the depth experiments): the preset's first
    /// blocks, or more repeating its last with the filters growing, at most 256.
    #[arg(long)]
    blocks: Option<usize>,
    /// The seed of every random choice [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Compute backend: flex or wgpu (never taken from a model file: where it runs is this
    /// host's choice).
    #[arg(long, default_value = "flex")]
    backend: BackendKind,
}

impl RunConfigArgs {
    /// `base` with every run setting given on the command line, and the backend.
    fn apply(&self, mut base: RunConfig) -> RunConfig {
        base.dataset = self.dataset.unwrap_or(base.dataset);
        base.batches = self.batches.clone().unwrap_or(base.batches);
        base.train_subset.validation = self.validation.unwrap_or(base.train_subset.validation);
        base.preset = self.preset.unwrap_or(base.preset);
        base.blocks = self.blocks.or(base.blocks);
        base.seed = self.seed.unwrap_or(base.seed);
        base.backend = self.backend;
        base
    }

    /// The run settings given, on top of [`RunConfig::default`].
    fn config(&self) -> RunConfig {
        self.apply(RunConfig::default())
    }
}

/// Opens `--model` (a path or a shipped model's name) on `device`; returns the model file and
/// a name for messages.
fn open_model(
    model: &Path,
    device: &burn::prelude::Device,
) -> overunlearn::Result<(ModelFile, String)> {
    let (bytes, origin) = read_model(model)?;
    let file = ModelFile::open(&bytes, device, &origin)?;
    Ok((file, origin))
}

/// Runs the CLI and maps errors to exit code 1 with their message on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // This thread is one of the pool's (`RAYON_NUM_THREADS` in all, as before): the serial parts
    // of a step and its parallel chunks share the same threads, and a chunked pass starts on
    // this thread at once instead of being handed to a sleeping worker and waited for (issue
    // 16: 2-thread training +11% for tutorial and lab, README Benchmarks).
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
    {
        eprintln!("error: starting the thread pool: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Train(args) => train::train(args),
        Command::Eval(args) => eval::evaluate(args),
        Command::Reproduce(args) => reproduce::reproduce(*args),
        Command::Defend(args) => defend::defend(*args),
        Command::Searches(args) => searches::compare_searches(args),
        Command::Download(args) => download::download(args),
        Command::Bench(args) => bench::bench(args),
        Command::Convert(args) => convert::convert(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The folder of the models the lab ships: `OVERUNLEARN_MODELS`, else the repository's `models/`.
fn models_dir() -> PathBuf {
    std::env::var_os("OVERUNLEARN_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../models"))
}

/// Reads `--model`: a model file's path, or the name of a shipped model (`models/NAME.bin`,
/// checked against the SHA-256 in `models/NAME.json`). Returns the bytes and a name for messages.
fn read_model(model: &Path) -> overunlearn::Result<(Vec<u8>, String)> {
    let origin = model.display().to_string();
    if model.exists() || !pretrained::is_name(&origin) {
        let bytes = std::fs::read(model).map_err(|e| overunlearn::Error::io(&origin, e))?;
        return Ok((bytes, origin));
    }
    let dir = models_dir();
    let report_path = dir.join(format!("{origin}.json"));
    let Ok(report) = std::fs::read(&report_path) else {
        let shipped: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json").map(str::to_string)
            })
            .collect();
        return Err(overunlearn::Error::config(
            "model",
            format!(
                "{origin:?} is neither a file nor a shipped model (shipped in {}: {})",
                dir.display(),
                if shipped.is_empty() {
                    "none".to_string()
                } else {
                    shipped.join(", ")
                }
            ),
        ));
    };
    let report: PretrainedReport = serde_json::from_slice(&report).map_err(|e| {
        overunlearn::Error::data(report_path.display(), format!("not a model report: {e}"))
    })?;
    let path = dir.join(format!("{origin}.bin"));
    let bytes = std::fs::read(&path).map_err(|e| overunlearn::Error::io(path.display(), e))?;
    report.check(&bytes)?;
    Ok((bytes, path.display().to_string()))
}

/// Initialises the backend's device.
fn device(backend: BackendKind) -> overunlearn::Result<burn::prelude::Device> {
    pollster::block_on(backend.device())
}

/// Prints a value as pretty JSON on stdout.
fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("reports serialise")
    );
}
