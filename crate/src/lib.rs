//! # overunlearn
//!
//! The core of the Over-Unlearning Lab: it trains small CNNs with burn on the CPU (`flex`) or a
//! GPU (`wgpu`/WebGPU), natively and in WebAssembly, and is the one place where the lab's science
//! lives. The browser's Web Worker and the command-line tool only translate to and from it.
//!
//! - [`data`]: the official CIFAR-10, CIFAR-100 and STL-10 files, archives, seeded subsets;
//! - [`model`]: the VGG-style network, its presets, input scaling and model files;
//! - [`tensor`]: reading tensors back to the host (async, for browsers too);
//! - [`train`]: the training loop with progress and cancellation;
//! - [`metrics`]: accuracy, per-class accuracy, confusion matrices, class probabilities;
//! - [`unlearn`]: the unlearning service's methods (first-order, fine-tuning, gradient ascent,
//!   SISA) and its defences against malicious requests;
//! - [`attack`]: black-box oracle and pushing samples to the decision boundary;
//! - [`experiment`]: normal vs malicious requests through the service, Tables IV and V;
//! - [`intuition`]: the same model, pushing and service on 2-D points, pictured;
//! - `defend` (native only for now): the defences measured over many seeded requests;
//! - [`training_run`]: a whole training run from a serialisable config to a report;
//! - [`backend`]: picking flex or wgpu at run time;
//! - [`parallel`]: work on all of rayon's threads, split so that results do not depend on them;
//! - [`names`]: parsing and printing the enums configs and hosts spell by name;
//! - [`host`]: yielding to the host's event loop between long steps;
//! - [`bench`]: training, inference and pushing figures (`overunlearn bench`, the bench page);
//! - `wasm` (wasm32 only): the JavaScript bindings.

pub mod attack;
pub mod backend;
pub mod bench;
pub mod data;
#[cfg(not(target_arch = "wasm32"))]
pub mod defend;
pub mod error;
pub mod experiment;
pub mod host;
pub mod intuition;
pub mod metrics;
pub mod model;
pub mod names;
pub mod parallel;
pub mod pipeline;
pub mod pretrained;
pub mod rng;
pub mod tensor;
pub mod train;
pub mod training_run;
pub mod unlearn;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};

/// This build's version, recorded in every report and model file.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
