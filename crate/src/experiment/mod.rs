//! An over-unlearning experiment, end to end: build the normal and malicious requests for class
//! A against the service's model ([`craft`]), put each through the same service on a copy of
//! the same model ([`unlearn`]), and report in the shape of the paper's Tables IV and V.
//!
//! - [`config`]: what an experiment is, its attacks and the built-in scenarios;
//! - [`craft`]: the malicious user's part, with the crossings found kept and reused;
//! - [`service`]: the service's part, set up once and applied to every request;
//! - [`report`]: the rows and their markdown tables.

pub mod config;
pub mod craft;
pub mod report;
mod scatter;
pub mod service;

pub use config::{Attack, ExperimentConfig};
pub use craft::{Crafted, CraftedView, Prepared, RequestStats, RequestView, craft, craft_with};
pub use report::{ExperimentReport, FeatureView, Row, RowFeatures};
pub use service::unlearn;

use crate::data::Dataset;
use crate::error::Result;

/// What the host hears while an experiment runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A named stage advanced: `done` of `total`.
    Stage {
        /// What is being done.
        name: String,
        /// Units done.
        done: usize,
        /// Units in all.
        total: usize,
    },
}

/// Validates `config` and finds its classes in `train`; returns classes A and B.
fn classes(config: &ExperimentConfig, train: &Dataset) -> Result<(u16, u16)> {
    config.validate()?;
    let class_a = train.class_index(&config.class_a)? as u16;
    let class_b = train.class_index(&config.class_b)? as u16;
    Ok((class_a, class_b))
}

/// Reports a stage's progress to `event`.
/// Tells the host how far stage `name` has come.
pub fn stage(event: &mut impl FnMut(Event), name: &str, done: usize, total: usize) {
    event(Event::Stage {
        name: name.to_string(),
        done,
        total,
    })
}
