//! The compute backends: burn's `flex` on the CPU (natively and in wasm) and `wgpu` (WebGPU in
//! the browser, Vulkan/Metal natively). Chosen at run time; the model code is the same.

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which backend runs the tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// burn's pure-Rust CPU backend.
    #[default]
    Flex,
    /// burn's wgpu backend: WebGPU in a browser, the platform's GPU API natively.
    Wgpu,
}

impl BackendKind {
    /// Every backend.
    pub const ALL: [Self; 2] = [Self::Flex, Self::Wgpu];

    /// The name used on the command line, in URLs and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
        }
    }

    /// Initialises the backend and returns its device (without autodiff).
    pub async fn device(self) -> Result<Device> {
        match self {
            Self::Flex => Ok(Device::flex()),
            Self::Wgpu => wgpu_device().await,
        }
    }
}

#[cfg(feature = "webgpu")]
async fn wgpu_device() -> Result<Device> {
    Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| Error::backend("wgpu", format!("no usable GPU adapter: {e}")))
}

#[cfg(not(feature = "webgpu"))]
async fn wgpu_device() -> Result<Device> {
    Err(Error::backend(
        "wgpu",
        "this build of the core has flex only (built without the `webgpu` feature; the page \
         loads its WebGPU build for wgpu)",
    ))
}

crate::named!(BackendKind, "backend", aliases: ["webgpu" => BackendKind::Wgpu]);
