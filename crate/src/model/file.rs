//! Model files: a trained network with its architecture, class names, the run that trained it
//! and the format version.
//!
//! Layout: the magic bytes `OVUNLRN\0`, the format version (u32 LE), the header length (u32 LE),
//! a JSON header ([`Header`]), then every tensor's values as f32 LE in the header's order.
//! Tensors are read back through the async API, so saving works on every backend.
//!
//! Version 2 added the run ([`RunConfig`]) to the header, so a host needs no flags to find a
//! model's data again. A version-1 file becomes a version-2 file with [`convert`], given its run:
//! the weights are copied byte for byte.

use std::collections::HashMap;

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ModelConfig, Trained};
use crate::error::{Error, Result};
use crate::training_run::RunConfig;

const MAGIC: &[u8; 8] = b"OVUNLRN\0";
/// The model-file format this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// One stored tensor: its module path and shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorEntry {
    /// Dotted module path, e.g. `blocks.0.convs.1.weight`.
    pub path: String,
    /// The tensor's shape.
    pub shape: Vec<usize>,
}

/// The JSON header of a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// The file format version.
    pub format_version: u32,
    /// The version of the crate that wrote the file.
    pub crate_version: String,
    /// The network's architecture.
    pub config: ModelConfig,
    /// The output classes' names.
    pub class_names: Vec<String>,
    /// The run that trained the network (its data, subsets, preset, training and seed). Every
    /// model file has one; only the weights inside a training checkpoint go without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunConfig>,
    /// The stored tensors, in file order.
    pub tensors: Vec<TensorEntry>,
}

/// What [`convert`] keeps of a version-1 header (a [`Header`] without the run).
#[derive(Debug, Clone, Deserialize)]
struct HeaderV1 {
    config: ModelConfig,
    class_names: Vec<String>,
    tensors: Vec<TensorEntry>,
}

/// What a model file holds: the trained network and the run that trained it.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The network, its architecture and classes.
    pub trained: Trained,
    /// The run that trained it.
    pub run: RunConfig,
}

impl ModelFile {
    /// Reads a model file onto `device`; `origin` names the file in errors. Whether the model
    /// suits some data is [`RunConfig::check_model`]'s to say.
    pub fn open(bytes: &[u8], device: &Device, origin: &str) -> Result<Self> {
        let (trained, run) = read(bytes, device, origin)?;
        let run = run.ok_or_else(|| {
            Error::model_file(
                origin,
                "records no training run (a training checkpoint's weights are not a model file)",
            )
        })?;
        Ok(Self { trained, run })
    }
}

/// Reads the network and the run (if recorded) of model-file bytes onto `device`.
fn read(bytes: &[u8], device: &Device, origin: &str) -> Result<(Trained, Option<RunConfig>)> {
    let (header, values) = parse(bytes, origin)?;
    let trained = Trained::from_parts(
        header.config,
        header.class_names,
        &header.tensors,
        values,
        device,
        origin,
    )?;
    Ok((trained, header.run))
}

impl Trained {
    /// Serialises the model, with the `run` that trained it, into model-file bytes.
    pub async fn to_bytes(&self, run: &RunConfig) -> Result<Vec<u8>> {
        self.write(Some(run)).await
    }

    /// The model-file bytes of the network alone, with no run (a training checkpoint's weights).
    pub(crate) async fn weights_to_bytes(&self) -> Result<Vec<u8>> {
        self.write(None).await
    }

    /// Reads bytes written by [`Self::weights_to_bytes`] (or a whole model file) onto `device`.
    pub(crate) fn weights_from_bytes(bytes: &[u8], device: &Device, origin: &str) -> Result<Self> {
        Ok(read(bytes, device, origin)?.0)
    }

    /// Serialises the model, with `run` if given.
    async fn write(&self, run: Option<&RunConfig>) -> Result<Vec<u8>> {
        let mut collector = Collector::default();
        self.model.visit(&mut collector);
        let header = Header {
            format_version: FORMAT_VERSION,
            crate_version: crate::VERSION.to_string(),
            config: self.config.clone(),
            class_names: self.class_names.clone(),
            run: run.cloned(),
            tensors: collector.entries,
        };
        let mut out = header_bytes(&header);
        for tensor in collector.tensors {
            let values = crate::metrics::read_f32(tensor).await?;
            out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        }
        Ok(out)
    }

    /// Builds the network of `config` on `device` from the `values` of the stored `entries`.
    fn from_parts(
        config: ModelConfig,
        class_names: Vec<String>,
        entries: &[TensorEntry],
        mut values: Vec<f32>,
        device: &Device,
        origin: &str,
    ) -> Result<Self> {
        let bad = |problem: String| Error::model_file(origin, problem);
        let model = config
            .init(device)
            .map_err(|e| bad(format!("architecture: {e}")))?;
        let mut tensors = HashMap::new();
        for entry in entries {
            let n: usize = entry.shape.iter().product();
            let rest = values.split_off(n.min(values.len()));
            let taken = std::mem::replace(&mut values, rest);
            if taken.len() != n {
                return Err(bad(format!(
                    "truncated: tensor {} is incomplete",
                    entry.path
                )));
            }
            tensors.insert(entry.path.clone(), (entry.shape.clone(), taken));
        }
        if !values.is_empty() {
            return Err(bad(format!("{} values past the last tensor", values.len())));
        }
        let mut loader = Loader {
            path: Vec::new(),
            tensors,
            errors: Vec::new(),
        };
        let model = model.map(&mut loader);
        loader.errors.extend(
            loader
                .tensors
                .keys()
                .map(|p| format!("tensor {p} is not part of this architecture")),
        );
        if !loader.errors.is_empty() {
            loader.errors.sort();
            return Err(bad(loader.errors.join("; ")));
        }
        Ok(Self {
            model,
            config,
            class_names,
        })
    }
}

/// The magic bytes, the version, the header's length and the header.
fn header_bytes(header: &Header) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("header serialises");
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out
}

/// The format version and the JSON header of a model file of any version, and where its tensor
/// data starts.
fn split(bytes: &[u8], origin: &str) -> Result<(u32, Vec<u8>, usize)> {
    let bad = |problem: String| Error::model_file(origin, problem);
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(bad("not an overunlearn model file (bad magic bytes)".into()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    let len = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    let json = bytes
        .get(16..16 + len)
        .ok_or_else(|| bad("truncated header".into()))?;
    Ok((version, json.to_vec(), 16 + len))
}

/// The message for a file of another format version: who made it and what to do.
fn other_version(version: u32, json: &[u8]) -> String {
    let made_by = serde_json::from_slice::<serde_json::Value>(json)
        .ok()
        .and_then(|h| h.get("crate_version")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown version".into());
    let reads = format!(
        "this build (overunlearn {}) reads format version {FORMAT_VERSION}",
        crate::VERSION
    );
    if version < FORMAT_VERSION {
        format!(
            "made by format version {version} (overunlearn {made_by}); {reads}: re-train it or \
             convert it with `overunlearn convert --model FILE --run-config RUN.json --out NEW.bin` \
             (RUN.json: its run config, or its training report)"
        )
    } else {
        format!(
            "made by format version {version} (overunlearn {made_by}), newer than {reads}; use a \
             newer overunlearn"
        )
    }
}

/// Rewrites a version-1 model file as a version-2 file that records `run` as the run that
/// trained it. The tensor data is copied byte for byte; the run's preset must build the file's
/// architecture for the run's dataset (and classes), or the run is not this model's.
pub fn convert(bytes: &[u8], run: &RunConfig, origin: &str) -> Result<Vec<u8>> {
    let bad = |problem: String| Error::model_file(origin, problem);
    run.validate()?;
    let (version, json, body) = split(bytes, origin)?;
    if version != 1 {
        return Err(bad(format!(
            "is format version {version}; only version-1 files are converted (this build writes \
             version {FORMAT_VERSION})"
        )));
    }
    let old: HeaderV1 =
        serde_json::from_slice(&json).map_err(|e| bad(format!("unreadable header: {e}")))?;
    let classes = match run.train_subset.classes.len() {
        0 => run.dataset.num_classes(),
        n => n,
    };
    let expected = run.preset.config(run.dataset.shape(), classes);
    if old.config != expected || old.class_names.len() != classes {
        return Err(bad(format!(
            "holds {}, but the {} preset on {} ({classes} classes) builds {}: the run given is not \
             this model's",
            serde_json::to_string(&old.config).unwrap_or_default(),
            run.preset.name(),
            run.dataset.name(),
            serde_json::to_string(&expected).unwrap_or_default()
        )));
    }
    let header = Header {
        format_version: FORMAT_VERSION,
        crate_version: crate::VERSION.to_string(),
        config: old.config,
        class_names: old.class_names,
        run: Some(run.clone()),
        tensors: old.tensors,
    };
    let mut out = header_bytes(&header);
    out.extend_from_slice(&bytes[body..]);
    Ok(out)
}

/// Reads the header and the raw values of a model file of this build's format version.
pub fn parse(bytes: &[u8], origin: &str) -> Result<(Header, Vec<f32>)> {
    let bad = |problem: String| Error::model_file(origin, problem);
    let (version, json, body) = split(bytes, origin)?;
    if version != FORMAT_VERSION {
        return Err(bad(other_version(version, &json)));
    }
    let header: Header =
        serde_json::from_slice(&json).map_err(|e| bad(format!("unreadable header: {e}")))?;
    let body = &bytes[body..];
    if !body.len().is_multiple_of(4) {
        return Err(bad(
            "truncated: tensor data is not a whole number of f32 values".into(),
        ));
    }
    let values = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    Ok((header, values))
}

/// Collects every float tensor with its path.
#[derive(Default)]
struct Collector {
    path: Vec<String>,
    entries: Vec<TensorEntry>,
    tensors: Vec<Tensor<1>>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        self.entries.push(TensorEntry {
            path: self.path.join("."),
            shape: tensor.dims().to_vec(),
        });
        self.tensors.push(tensor.reshape([-1]));
    }
}

/// Replaces every float tensor with the stored one of the same path.
struct Loader {
    path: Vec<String>,
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    errors: Vec<String>,
}

impl ModuleMapper for Loader {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        let Some((shape, values)) = self.tensors.remove(&path) else {
            self.errors.push(format!("tensor {path} is missing"));
            return param;
        };
        param.map(|tensor| {
            if tensor.dims().as_slice() != shape.as_slice() {
                self.errors.push(format!(
                    "tensor {path} has shape {shape:?}, the architecture needs {:?}",
                    tensor.dims()
                ));
                return tensor;
            }
            Tensor::from_data(TensorData::new(values, shape), &tensor.device())
        })
    }
}
