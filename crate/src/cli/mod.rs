//! Command-line parsing and dispatch.

mod bench;
mod download;
mod eval;
mod progress;
mod reproduce;
mod searches;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use overunlearn::backend::BackendKind;
use overunlearn::data::{DataSource, DatasetKind};

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
    /// Compare the boundary searches (ZOO, efficient, white-box) on the same samples.
    Searches(searches::SearchesArgs),
    /// Download the official dataset archives, verified by checksum.
    Download(download::DownloadArgs),
    /// Measure training, inference and pushing speed (the peers are in tests/bench/).
    Bench(bench::BenchArgs),
}

/// Where the data is and which dataset to read.
#[derive(Debug, Args)]
struct DataArgs {
    /// Data directory (extracted folders or official archives), or one official .tar.gz archive.
    #[arg(long, env = "OVERUNLEARN_DATA", default_value = "data")]
    data: PathBuf,
    /// The dataset: cifar10, cifar100, cifar100coarse or stl10.
    #[arg(long, default_value = "cifar10")]
    dataset: DatasetKind,
}

impl DataArgs {
    fn source(&self) -> DataSource {
        DataSource::from_path(&self.data)
    }
}

/// How to run and report.
#[derive(Debug, Args)]
struct RunArgs {
    /// Compute backend.
    #[arg(long, default_value = "flex")]
    backend: BackendKind,
    /// Print a machine-readable JSON report on stdout (progress still goes to stderr).
    #[arg(long)]
    json: bool,
}

/// Runs the CLI and maps errors to exit code 1 with their message on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Reproduce(args) => reproduce::run(*args),
        Command::Searches(args) => searches::run(args),
        Command::Download(args) => download::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
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
