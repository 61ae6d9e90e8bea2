//! Model files: a trained network with its architecture, class names and format version.
//!
//! Layout: the magic bytes `OVUNLRN\0`, the format version (u32 LE), the header length (u32 LE),
//! a JSON header ([`Header`]), then every tensor's values as f32 LE in the header's order.
//! Tensors are read back through the async API, so saving works on every backend.

use std::collections::HashMap;

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ModelConfig, Trained};
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"OVUNLRN\0";
/// The model-file format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

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
    /// The stored tensors, in file order.
    pub tensors: Vec<TensorEntry>,
}

impl Trained {
    /// Serialises the model into model-file bytes.
    pub async fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut collector = Collector::default();
        self.model.visit(&mut collector);
        let header = Header {
            format_version: FORMAT_VERSION,
            crate_version: crate::VERSION.to_string(),
            config: self.config.clone(),
            class_names: self.class_names.clone(),
            tensors: collector.entries,
        };
        let json = serde_json::to_vec(&header).expect("header serialises");
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        for tensor in collector.tensors {
            let values = crate::tensor::read_f32(tensor).await?;
            out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        }
        Ok(out)
    }

    /// Reads a model file onto `device`; `origin` names the file in errors.
    pub fn from_bytes(bytes: &[u8], device: &Device, origin: &str) -> Result<Self> {
        let (header, mut values) = parse(bytes, origin)?;
        let bad = |problem: String| Error::model_file(origin, problem);
        let model = header
            .config
            .init(device)
            .map_err(|e| bad(format!("architecture: {e}")))?;
        let mut tensors = HashMap::new();
        for entry in &header.tensors {
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
            config: header.config,
            class_names: header.class_names,
        })
    }

    /// Refuses the model unless it has the `expected` architecture.
    pub fn expect_config(&self, expected: &ModelConfig, origin: &str) -> Result<()> {
        if &self.config == expected {
            return Ok(());
        }
        Err(Error::model_file(
            origin,
            format!(
                "holds a different architecture: {} where {} is expected",
                serde_json::to_string(&self.config).unwrap_or_default(),
                serde_json::to_string(expected).unwrap_or_default()
            ),
        ))
    }
}

/// Reads the header and the raw values of a model file.
pub fn parse(bytes: &[u8], origin: &str) -> Result<(Header, Vec<f32>)> {
    let bad = |problem: String| Error::model_file(origin, problem);
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(bad("not an overunlearn model file (bad magic bytes)".into()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(bad(format!(
            "format version {version}, but this build (overunlearn {}) reads version {FORMAT_VERSION}; \
             retrain or convert the model",
            crate::VERSION
        )));
    }
    let len = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    let json = bytes
        .get(16..16 + len)
        .ok_or_else(|| bad("truncated header".into()))?;
    let header: Header =
        serde_json::from_slice(json).map_err(|e| bad(format!("unreadable header: {e}")))?;
    let body = &bytes[16 + len..];
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
