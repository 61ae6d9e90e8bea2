//! Model files with the run that trained them: the typed side of [`crate::model::file`] (which
//! holds the format and stays below this layer): [`ModelFile::open`], [`Trained::to_bytes`],
//! [`snapshot`] of a checkpoint's network, and [`convert`] for version-1 files.

use burn::prelude::Device;

use super::RunConfig;
use crate::error::{Error, Result};
use crate::model::Trained;
use crate::model::file::{self, FORMAT_VERSION, Header, Precision};

/// What a model file holds: the trained network and the run that trained it.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The network, its architecture and classes.
    pub trained: Trained,
    /// The run that trained it.
    pub run: RunConfig,
    /// SHA-256 (hex) of the file's bytes: what crafted requests against it are keyed by.
    pub sha256: String,
}

impl ModelFile {
    /// Reads a model file onto `device`; `origin` names the file in errors. Whether the model
    /// suits some data is [`RunConfig::check_model`]'s to say.
    pub fn open(bytes: &[u8], device: &Device, origin: &str) -> Result<Self> {
        let (trained, run) = file::read::<RunConfig>(bytes, device, origin)?;
        let run = run.ok_or_else(|| {
            Error::model_file(
                origin,
                "records no training run (a training checkpoint's weights are not a model file)",
            )
        })?;
        let sha256 = file::sha256_hex(bytes);
        Ok(Self {
            trained,
            run,
            sha256,
        })
    }

    /// A freshly trained model with its run (hashed as the bytes [`Trained::to_bytes`] writes).
    pub async fn trained(trained: Trained, run: RunConfig) -> Result<Self> {
        let sha256 = file::sha256_hex(&trained.to_bytes(&run).await?);
        Ok(Self {
            trained,
            run,
            sha256,
        })
    }
}

impl Trained {
    /// Serialises the model, with the `run` that trained it, into model-file bytes.
    pub async fn to_bytes(&self, run: &RunConfig) -> Result<Vec<u8>> {
        self.write(Some(run), Precision::F32).await
    }

    /// [`Self::to_bytes`] with the values stored at `precision`: the network such a file
    /// holds is this one with its weights rounded (see [`ModelFile::open`] to measure it).
    pub async fn to_bytes_at(&self, run: &RunConfig, precision: Precision) -> Result<Vec<u8>> {
        self.write(Some(run), precision).await
    }
}

/// A training checkpoint's network (its `weights.bin`, which records no run) as a model file of
/// `run`, the tensors byte for byte: the run's network after that epoch, for measurements across
/// a training (the model a run keeps is its lowest validation loss's).
pub fn snapshot(weights: &[u8], run: &RunConfig, origin: &str) -> Result<Vec<u8>> {
    let bad = |problem: String| Error::model_file(origin, problem);
    let (version, json, body) = file::split(weights, origin)?;
    if version != FORMAT_VERSION {
        return Err(bad(format!(
            "is format version {version}; snapshots are taken of this build's checkpoints \
             (version {FORMAT_VERSION})"
        )));
    }
    let header: Header =
        serde_json::from_slice(&json).map_err(|e| bad(format!("unreadable header: {e}")))?;
    Ok(with_run(header, run, &weights[body..]))
}

/// A model file of this build's format: `header`'s network recording `run`, then the tensor
/// bytes `body` as they are.
fn with_run(header: Header, run: &RunConfig, body: &[u8]) -> Vec<u8> {
    let header = Header {
        format_version: FORMAT_VERSION,
        crate_version: crate::VERSION.to_string(),
        precision: header.precision,
        config: header.config,
        class_names: header.class_names,
        run: Some(run.clone()),
        tensors: header.tensors,
    };
    let mut out = file::header_bytes(&header);
    out.extend_from_slice(body);
    out
}

/// Rewrites a version-1 model file as a current-version (f32) file that records `run` as the run that
/// trained it. The tensor data is copied byte for byte; the run's preset must build the file's
/// architecture for the run's dataset (and classes), or the run is not this model's.
pub fn convert(bytes: &[u8], run: &RunConfig, origin: &str) -> Result<Vec<u8>> {
    let bad = |problem: String| Error::model_file(origin, problem);
    run.validate()?;
    let (version, json, body) = file::split(bytes, origin)?;
    if version != 1 {
        return Err(bad(format!(
            "is format version {version}; only version-1 files are converted (this build writes \
             version {FORMAT_VERSION})"
        )));
    }
    let old: file::HeaderV1 =
        serde_json::from_slice(&json).map_err(|e| bad(format!("unreadable header: {e}")))?;
    let classes = match run.train_subset.classes.len() {
        0 => run.dataset.num_classes(),
        n => n,
    };
    let expected = run.architecture(run.dataset.shape(), classes);
    if old.config != expected || old.class_names.len() != classes {
        return Err(bad(format!(
            "holds {}, but the {} on {} ({classes} classes) builds {}: the run given is not \
             this model's",
            serde_json::to_string(&old.config).unwrap_or_default(),
            run.architecture_name(),
            run.dataset.name(),
            serde_json::to_string(&expected).unwrap_or_default()
        )));
    }
    let header = Header {
        format_version: 1,
        crate_version: String::new(),
        precision: Precision::F32,
        config: old.config,
        class_names: old.class_names,
        run: None,
        tensors: old.tensors,
    };
    Ok(with_run(header, run, &bytes[body..]))
}
