//! The unlearning service: what it accepts ([`request`]), how it is set up and steps
//! ([`Service`]), and its methods, which remove a request's samples from a trained model:
//!
//! - [`first_order`]: the first-order update of Warnecke et al. (the paper's main target), with
//!   the service's own calibration of its step size tau;
//! - [`finetune`]: fine-tuning on the request with random labels, and gradient ascent;
//! - [`sisa`]: exact unlearning by sharded, sliced retraining, for contrast;
//!
//! and the service's [`defence`]s against malicious requests.

pub mod defence;
pub mod finetune;
pub mod first_order;
pub mod request;
mod service;
pub mod sisa;

pub use request::Request;
pub use service::{Handled, Holdings, Service};

use burn::module::{ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::Result;
use crate::metrics::EVAL_BATCH;
use crate::model::{Cnn, input};

/// An unlearning method and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Method {
    /// The first-order update.
    FirstOrder(first_order::FirstOrderConfig),
    /// Fine-tuning with random labels.
    FineTune(finetune::SgdSettings),
    /// Gradient ascent on the request.
    GradientAscent(finetune::SgdSettings),
    /// Retraining from scratch without the forgotten training samples: exact unlearning, the
    /// reference (crafted images change nothing but which samples are dropped).
    Retrain,
}

impl Default for Method {
    fn default() -> Self {
        Self::FirstOrder(first_order::FirstOrderConfig::default())
    }
}

impl Method {
    /// The method's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::FirstOrder(_) => "first-order",
            Self::FineTune(_) => "fine-tuning (random labels)",
            Self::GradientAscent(_) => "gradient ascent",
            Self::Retrain => "retraining from scratch",
        }
    }

    /// Checks the method's parameters.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::FirstOrder(fo) => fo.validate(),
            Self::FineTune(sgd) | Self::GradientAscent(sgd) => sgd.validate(),
            Self::Retrain => Ok(()),
        }
    }

    /// Whether setting up the service calibrates its step size (a first-order method with a
    /// calibrated tau): the one slow part of [`Service::open`].
    pub fn calibrates(&self) -> bool {
        matches!(self, Self::FirstOrder(fo) if matches!(fo.tau, first_order::Tau::Calibrated { .. }))
    }

    /// The method and its service in one line for reports, e.g. `first-order (reference
    /// service, batch 256)`.
    pub fn describe(&self) -> String {
        match self {
            Self::FirstOrder(c) => match c.service {
                first_order::ServiceKind::Reference => format!(
                    "{} (reference service, batch {})",
                    self.name(),
                    c.batch_size
                ),
                kind => format!("{} ({} service)", self.name(), kind.name()),
            },
            _ => self.name().to_string(),
        }
    }
}

/// The summed cross-entropy of `dataset`'s images under their labels, differentiated with respect
/// to `net`'s parameters (the `ids` among them), in chunks so memory stays bounded. `net` must be
/// on an autodiff device (see [`Cnn::differentiable`]).
pub(crate) fn summed_loss_grads(
    net: &Cnn,
    dataset: &Dataset,
    ids: &[ParamId],
    sign: f32,
    total: &mut GradientsParams,
) -> Result<()> {
    let device = net.device();
    let indices: Vec<usize> = (0..dataset.len()).collect();
    for chunk in indices.chunks(EVAL_BATCH) {
        let logits = net.forward(input::images(dataset, chunk, &device));
        let targets = input::labels(dataset, chunk, &device);
        let loss = crate::metrics::summed_cross_entropy(logits, targets).mul_scalar(sign);
        let mut grads = loss.backward();
        let chunk_grads = GradientsParams::from_params(&mut grads, net, ids);
        accumulate(total, chunk_grads, net);
    }
    Ok(())
}

/// Adds `part`'s gradients into `total`, parameter by parameter.
fn accumulate(total: &mut GradientsParams, mut part: GradientsParams, net: &Cnn) {
    struct Merge<'a> {
        total: &'a mut GradientsParams,
        part: &'a mut GradientsParams,
    }
    impl ModuleVisitor for Merge<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.part.remove::<D>(param.id) {
                let sum = match self.total.remove::<D>(param.id) {
                    Some(t) => t + g,
                    None => g,
                };
                self.total.register(param.id, sum);
            }
        }
    }
    net.visit(&mut Merge {
        total,
        part: &mut part,
    });
}

/// The ids of every float parameter of `module`.
pub(crate) fn param_ids<M: Module>(module: &M) -> Vec<ParamId> {
    struct Ids(Vec<ParamId>);
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.id);
        }
    }
    let mut ids = Ids(Vec::new());
    module.visit(&mut ids);
    ids.0
}
