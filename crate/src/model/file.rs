//! Model files: a trained network with its architecture, class names, the run that trained it
//! and the format version.
//!
//! Layout: the magic bytes `OVUNLRN\0`, the format version (u32 LE), the header length (u32 LE),
//! a JSON header ([`Header`]), then every tensor's values, little-endian, in the header's order
//! and at the header's [`Precision`]. Tensors are read back through the async API, so saving
//! works on every backend.
//!
//! Version 2 added the run that trained the network to the header, so a host needs no flags to
//! find a model's data again. Version 3 added the precision: f32 (every model trained here) or
//! f16, which halves a model for shipping (a deep model's 9.7 MB f32 file is over the
//! repository's 8 MB bar); a version-2 file is f32 and still reads. The run's type lives a layer up (`training_run::RunConfig`), so
//! here it is a type parameter; `training_run::model_file` is the typed side (`ModelFile`,
//! `Trained::to_bytes`, `convert` of version-1 files).

use std::collections::HashMap;

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use super::{ModelConfig, Trained};
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"OVUNLRN\0";
/// The model-file format this build writes and reads.
pub const FORMAT_VERSION: u32 = 3;

/// The older format versions this build still reads (version 2: f32, no precision recorded).
const READS_TOO: [u32; 1] = [2];

/// How a model file stores the tensor values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// 32-bit floats: the weights exactly as trained.
    #[default]
    F32,
    /// IEEE half floats, rounded to nearest: half the size; the network computes in f32 with
    /// the rounded weights (a shipped model's record is measured on those).
    F16,
}

impl Precision {
    /// Every precision, in the order the CLI lists them.
    pub const ALL: [Self; 2] = [Self::F32, Self::F16];

    /// The name in headers and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
        }
    }

    /// Bytes per stored value.
    fn width(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 => 2,
        }
    }

    /// `value`'s little-endian bytes at this precision.
    fn encode(self, value: f32, out: &mut Vec<u8>) {
        match self {
            Self::F32 => out.extend_from_slice(&value.to_le_bytes()),
            Self::F16 => out.extend_from_slice(&half::f16::from_f32(value).to_le_bytes()),
        }
    }

    /// The value stored in `bytes` (`width()` of them).
    fn decode(self, bytes: &[u8]) -> f32 {
        match self {
            Self::F32 => f32::from_le_bytes(bytes.try_into().expect("4 bytes")),
            Self::F16 => half::f16::from_le_bytes(bytes.try_into().expect("2 bytes")).to_f32(),
        }
    }
}

crate::named!(Precision, "precision");

/// One stored tensor: its module path and shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorEntry {
    /// Dotted module path, e.g. `blocks.0.convs.1.weight`.
    pub path: String,
    /// The tensor's shape.
    pub shape: Vec<usize>,
}

/// The JSON header of a model file; `R` is the run's type (read past when not needed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header<R = IgnoredAny> {
    /// The file format version.
    pub format_version: u32,
    /// The version of the crate that wrote the file.
    pub crate_version: String,
    /// How the tensor values are stored (absent in version-2 files: f32).
    #[serde(default)]
    pub precision: Precision,
    /// The network's architecture.
    pub config: ModelConfig,
    /// The output classes' names.
    pub class_names: Vec<String>,
    /// The run that trained the network (its data, subsets, preset, training and seed). Every
    /// model file has one; only the weights inside a training checkpoint go without.
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub run: Option<R>,
    /// The stored tensors, in file order.
    pub tensors: Vec<TensorEntry>,
}

/// What a conversion keeps of a version-1 header (a [`Header`] without the run).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HeaderV1 {
    pub(crate) config: ModelConfig,
    pub(crate) class_names: Vec<String>,
    pub(crate) tensors: Vec<TensorEntry>,
}

/// Reads the network and the run (if recorded) of model-file bytes onto `device`.
pub(crate) fn read<R: DeserializeOwned>(
    bytes: &[u8],
    device: &Device,
    origin: &str,
) -> Result<(Trained, Option<R>)> {
    let (header, values) = parse_as::<R>(bytes, origin)?;
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
    /// The model-file bytes of the network alone, with no run (a training checkpoint's weights).
    pub(crate) async fn weights_to_bytes(&self) -> Result<Vec<u8>> {
        self.write::<()>(None, Precision::F32).await
    }

    /// Reads bytes written by [`Self::weights_to_bytes`] (or a whole model file) onto `device`.
    pub(crate) fn weights_from_bytes(bytes: &[u8], device: &Device, origin: &str) -> Result<Self> {
        Ok(read::<IgnoredAny>(bytes, device, origin)?.0)
    }

    /// Serialises the model, with `run` if given, its values at `precision`.
    pub(crate) async fn write<R: Serialize>(
        &self,
        run: Option<&R>,
        precision: Precision,
    ) -> Result<Vec<u8>> {
        let mut collector = Collector::default();
        self.model.visit(&mut collector);
        let header = Header {
            format_version: FORMAT_VERSION,
            crate_version: crate::VERSION.to_string(),
            precision,
            config: self.config.clone(),
            class_names: self.class_names.clone(),
            run,
            tensors: collector.entries,
        };
        let mut out = header_bytes(&header);
        for tensor in collector.tensors {
            let values = crate::tensor::read_f32(tensor).await?;
            out.reserve(values.len() * precision.width());
            for &value in &values {
                precision.encode(value, &mut out);
            }
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
        config
            .validate()
            .map_err(|e| bad(format!("architecture: {e}")))?;
        match config.weight_count() {
            Some(n) if n <= values.len() => {}
            needed => {
                return Err(bad(format!(
                    "its header's architecture needs {} values, the file holds {}",
                    needed.map_or("more than 2^64".to_string(), |n| format!("at least {n}")),
                    values.len()
                )));
            }
        }
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
pub(crate) fn header_bytes<R: Serialize>(header: &Header<R>) -> Vec<u8> {
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
pub(crate) fn split(bytes: &[u8], origin: &str) -> Result<(u32, Vec<u8>, usize)> {
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

/// Reads the header (its run read past) and the raw values of a model file of this build's
/// format version.
pub fn parse(bytes: &[u8], origin: &str) -> Result<(Header, Vec<f32>)> {
    parse_as(bytes, origin)
}

/// [`parse`], reading the header's run as an `R`.
fn parse_as<R: DeserializeOwned>(bytes: &[u8], origin: &str) -> Result<(Header<R>, Vec<f32>)> {
    let bad = |problem: String| Error::model_file(origin, problem);
    let (version, json, body) = split(bytes, origin)?;
    if version != FORMAT_VERSION && !READS_TOO.contains(&version) {
        return Err(bad(other_version(version, &json)));
    }
    let header: Header<R> =
        serde_json::from_slice(&json).map_err(|e| bad(format!("unreadable header: {e}")))?;
    if version < 3 && header.precision != Precision::F32 {
        return Err(bad(format!(
            "format version {version} stores f32 only, its header says {}",
            header.precision.name()
        )));
    }
    let body = &bytes[body..];
    let width = header.precision.width();
    if !body.len().is_multiple_of(width) {
        return Err(bad(format!(
            "truncated: tensor data is not a whole number of {} values",
            header.precision.name()
        )));
    }
    let values = body
        .chunks_exact(width)
        .map(|c| header.precision.decode(c))
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

/// The SHA-256 of `bytes`, lower-case hex: how the lab names a model file's contents.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
