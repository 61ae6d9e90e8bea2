//! `overunlearn convert`: a model file of an older format version rewritten in this build's,
//! given the run that trained it (a JSON file, or the flags it was trained with). The weights
//! are copied byte for byte; the result is checked against the run's test images.

use std::path::{Path, PathBuf};

use clap::Args;
use overunlearn::model::file;
use overunlearn::pretrained::sha256_hex;
use overunlearn::training_run::RunConfig;
use overunlearn::training_run::{ModelFile, model_file};
use overunlearn::{Error, Result};
use serde::Serialize;

use super::RunConfigArgs;
use super::train::TrainingArgs;

/// Flags of `overunlearn convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The run's settings, when --run-config is not given (the flags it was trained with).
    #[command(flatten)]
    common: RunConfigArgs,
    #[command(flatten)]
    training: TrainingArgs,
    /// The model file to convert, or a shipped model's name.
    #[arg(long, short)]
    model: PathBuf,
    /// The run that trained it, as JSON: a run config, or a report or config that holds one as
    /// `run` (a shipped model's models/NAME.json, an experiment config) or `config` (the report
    /// of `train --json`). Instead of the run flags.
    #[arg(long, value_name = "JSON", conflicts_with_all = RUN_FLAGS)]
    run_config: Option<PathBuf>,
    /// Where to write the converted model file.
    #[arg(long, short)]
    out: PathBuf,
}

/// The flags that describe a run, which `--run-config` replaces.
const RUN_FLAGS: [&str; 14] = [
    "dataset",
    "batches",
    "validation",
    "preset",
    "seed",
    "classes",
    "per_class",
    "test_per_class",
    "epochs",
    "batch_size",
    "lr",
    "patience",
    "augment",
    "optimizer",
];

/// The report of `convert --json`.
#[derive(Debug, Serialize)]
struct ConvertReport<'a> {
    version: &'a str,
    model: &'a Path,
    format_version: u32,
    sha256: String,
    run: &'a RunConfig,
}

/// Reads a run config from `path`: the file itself, or its `run` or `config` member.
fn read_run(path: &Path) -> Result<RunConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::config(path.display(), format!("not JSON: {e}")))?;
    let direct = serde_json::from_value::<RunConfig>(value.clone());
    let held = ["run", "config"]
        .iter()
        .find_map(|key| value.get(key))
        .map(|inner| serde_json::from_value::<RunConfig>(inner.clone()));
    match (direct, held) {
        (Ok(run), _) | (_, Some(Ok(run))) => Ok(run),
        (Err(e), None) | (_, Some(Err(e))) => Err(Error::config(
            path.display(),
            format!(
                "neither a run config nor a report or config holding one as `run` or `config`: {e}"
            ),
        )),
    }
}

/// Converts, checks the new file against the run's test images and writes it.
pub fn convert(args: ConvertArgs) -> Result<()> {
    let run = match &args.run_config {
        Some(path) => read_run(path)?,
        None => args.training.config(&args.common),
    };
    let (old, origin) = super::read_model(&args.model)?;
    let bytes = model_file::convert(&old, &run, &origin)?;
    let device = super::device(args.common.backend)?;
    let out = args.out.display().to_string();
    let converted = ModelFile::open(&bytes, &device, &out)?;
    let test = run.load_test(&args.common.host.source())?;
    run.check_model(&converted.trained, &test, &out)?;
    std::fs::write(&args.out, &bytes).map_err(|e| Error::io(&out, e))?;
    let sha256 = sha256_hex(&bytes);
    if args.common.host.json {
        super::print_json(&ConvertReport {
            version: overunlearn::VERSION,
            model: &args.out,
            format_version: file::FORMAT_VERSION,
            sha256,
            run: &run,
        });
    } else {
        println!(
            "{out}: format version {}, {} bytes, SHA-256 {sha256}",
            file::FORMAT_VERSION,
            bytes.len()
        );
    }
    Ok(())
}
