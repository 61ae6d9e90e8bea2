//! The unlearning service: methods that remove a request's samples from a trained model.
//!
//! - [`first_order`]: the first-order update of Warnecke et al. (the paper's main target), with
//!   the service's own calibration of its step size tau;
//! - [`finetune`]: fine-tuning on the request with random labels, and gradient ascent.

pub mod finetune;
pub mod first_order;

use burn::module::{ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::attack::request::Request;
use crate::data::Dataset;
use crate::error::Result;
use crate::metrics::EVAL_BATCH;
use crate::model::{Cnn, Trained, input};
use crate::train::TrainConfig;

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

/// What the service holds besides the model: its training data and how it trained.
#[derive(Debug, Clone, Copy)]
pub struct Service<'a> {
    /// The training images.
    pub train: &'a Dataset,
    /// The validation images (for the best checkpoint when retraining; a class forgotten whole
    /// is left out of them).
    pub validation: &'a Dataset,
    /// How the model was trained.
    pub training: &'a TrainConfig,
    /// The seed of the service's randomness.
    pub seed: u64,
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

    /// Unlearns `request` from `model`: the approximate methods use the submitted images and
    /// labels; retraining drops the request's source samples from `service.train`. `tau` is the
    /// first-order step size the service settled on (ignored by the other methods).
    pub async fn apply(
        &self,
        model: &Trained,
        request: &Request,
        service: Service<'_>,
        tau: f64,
    ) -> Result<Cnn> {
        let submitted = &request.submitted;
        let seed = service.seed;
        match self {
            Self::FirstOrder(config) => {
                first_order::update(&model.model, submitted, config, tau, seed).await
            }
            Self::FineTune(settings) => {
                finetune::random_labels(&model.model, submitted, settings, seed).await
            }
            Self::GradientAscent(settings) => {
                finetune::gradient_ascent(&model.model, submitted, settings, seed).await
            }
            Self::Retrain => {
                // The best checkpoint is validated without a class forgotten whole.
                let mut forget = vec![false; service.train.len()];
                request.sources.iter().for_each(|&i| forget[i] = true);
                let kept: Vec<usize> = (0..service.train.len()).filter(|&i| !forget[i]).collect();
                let kept = service.train.select(&kept);
                let validation = without_absent_classes(service.validation, &kept);
                let outcome = crate::train::train(
                    &model.config,
                    service.training,
                    &kept,
                    &validation,
                    &model.model.device(),
                    seed,
                    |_| std::ops::ControlFlow::Continue(()),
                )
                .await?;
                Ok(outcome.trained.model)
            }
        }
    }
}

/// `validation` without the classes that `train` no longer has (a whole forgotten class): the
/// retrained model's best checkpoint is chosen on what it should still know, not on how well it
/// still recognises what it was asked to forget.
fn without_absent_classes(validation: &Dataset, train: &Dataset) -> Dataset {
    let present = train.class_counts();
    let kept: Vec<usize> = (0..validation.len())
        .filter(|&i| present[validation.labels[i] as usize] > 0)
        .collect();
    validation.select(&kept)
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
