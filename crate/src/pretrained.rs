//! The trained models the lab ships in the repository's `models/` folder: each `NAME.bin` (a
//! model file) beside `NAME.json` (its [`PretrainedReport`]: how it was trained, its SHA-256,
//! its test evaluation). Hosts find them by name; the bytes are checked against the report's
//! hash before use.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use crate::model::file::sha256_hex;
use crate::train::EpochSummary;
use crate::training_run::{RunConfig, RunReport};

/// What the lab records about a shipped model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainedReport {
    /// The name hosts load it by (the file stem).
    pub name: String,
    /// One sentence on what it is.
    pub description: String,
    /// SHA-256 of `NAME.bin`, hex.
    pub sha256: String,
    /// The crate version that trained it.
    pub version: String,
    /// The training run (dataset, subsets, preset, optimiser, seed, backend).
    pub run: RunConfig,
    /// Where it was trained, in words (the backend's adapter, the machine).
    pub trained_on: String,
    /// Per-epoch history of the training run.
    pub history: Vec<EpochSummary>,
    /// The epoch whose weights were kept (lowest validation loss).
    pub best_epoch: usize,
    /// How the training ended, in words (patience, a time limit...).
    pub stopped: String,
    /// Its evaluation on the whole test split, on the `flex` backend.
    pub test: TestRecord,
}

/// A shipped model's recorded test evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRecord {
    /// Test images.
    pub count: usize,
    /// Accuracy in [0, 1].
    pub accuracy: f64,
    /// Mean cross-entropy.
    pub loss: f64,
    /// Accuracy per class, indexed by label.
    pub per_class: Vec<f64>,
}

impl PretrainedReport {
    /// The record of a model about to be shipped as `name`: its training `report` (which must
    /// have tested on the whole test split) and the SHA-256 of its file's bytes.
    pub fn from_run(
        name: &str,
        description: &str,
        bytes: &[u8],
        report: &RunReport,
        trained_on: &str,
    ) -> Result<Self> {
        check_shippable(name, &report.config)?;
        let (done, epochs) = (report.history.len(), report.config.train.epochs);
        let stopped = match report.config.train.patience {
            _ if report.cancelled => format!("stopped by hand after epoch {done}"),
            Some(p) if done < epochs => format!(
                "patience {p}: no lower validation loss in the {p} epochs after epoch {}",
                report.best_epoch
            ),
            _ => format!("the {epochs} epochs asked for"),
        };
        Ok(Self {
            name: name.to_string(),
            description: description.to_string(),
            sha256: sha256_hex(bytes),
            version: crate::VERSION.to_string(),
            run: report.config.clone(),
            trained_on: trained_on.to_string(),
            history: report.history.clone(),
            best_epoch: report.best_epoch,
            stopped,
            test: TestRecord {
                count: report.test.count,
                accuracy: report.test.accuracy,
                loss: report.test.loss,
                per_class: report.test.per_class.clone(),
            },
        })
    }

    /// Refuses `bytes` unless they hash to the recorded SHA-256.
    pub fn check(&self, bytes: &[u8]) -> Result<()> {
        let actual = sha256_hex(bytes);
        if actual == self.sha256 {
            return Ok(());
        }
        Err(Error::model_file(
            format!("{}.bin", self.name),
            format!(
                "SHA-256 {actual} is not the recorded {} (the file was changed or truncated)",
                self.sha256
            ),
        ))
    }
}

/// Checks, before any training, that a run's model can be shipped as `name`: a bare file
/// stem, and a test on the whole test split (what the record's accuracy means).
pub fn check_shippable(name: &str, run: &RunConfig) -> Result<()> {
    if !is_name(name) {
        return Err(Error::config(
            "ship",
            format!("{name:?}: give letters, digits, '-', '_' or '.' (the file stem)"),
        ));
    }
    match run.test_per_class {
        Some(n) => Err(Error::config(
            "test_per_class",
            format!("{n}: a shipped model records its accuracy on the whole test split"),
        )),
        None => Ok(()),
    }
}

/// Whether `model` names a shipped model rather than a file: a bare name of letters, digits,
/// `-`, `_` and `.`, without a folder or the `.bin` extension.
pub fn is_name(model: &str) -> bool {
    !model.is_empty()
        && !model.ends_with(".bin")
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
