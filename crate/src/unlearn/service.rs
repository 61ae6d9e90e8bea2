//! The service itself: set up once with its method (the first-order step size fixed, or
//! calibrated on a probe of the service's choosing), then asked to unlearn requests.

use super::first_order::{self, Calibration, Tau};
use super::request::{Request, forget_set};
use super::{Method, finetune};
use crate::data::Dataset;
use crate::error::Result;
use crate::model::{Cnn, Trained};
use crate::train::TrainConfig;

/// What the service holds besides the model: its training data and how it trained.
#[derive(Debug, Clone, Copy)]
pub struct Holdings<'a> {
    /// The training images.
    pub train: &'a Dataset,
    /// The validation images (for calibrating tau, and for the best checkpoint when
    /// retraining; a class forgotten whole is left out of them).
    pub validation: &'a Dataset,
    /// How the model was trained.
    pub training: &'a TrainConfig,
    /// The seed of the service's randomness.
    pub seed: u64,
}

/// The unlearning service, its method settled: every request is unlearned the same way.
#[derive(Debug, Clone)]
pub struct Service<'a> {
    holdings: Holdings<'a>,
    method: Method,
    tau: Option<f64>,
    calibration: Option<Calibration>,
}

/// The seed offset of the calibration probe's samples (kept from the lab's first reports).
const PROBE_SEED: u64 = 0xca1;

impl<'a> Service<'a> {
    /// Sets up the service for `model`: a first-order method with a calibrated tau calibrates
    /// it here, once, on a normal request of its probe's size drawn from class `probe_class`
    /// (the class users are expected to ask about).
    pub async fn open(
        model: &Trained,
        holdings: Holdings<'a>,
        method: &Method,
        probe_class: u16,
    ) -> Result<Self> {
        let (tau, calibration) = match method {
            Method::FirstOrder(fo) => match fo.tau {
                Tau::Fixed(t) => (Some(t), None),
                Tau::Calibrated {
                    request_fraction,
                    budget,
                } => {
                    let train = holdings.train;
                    let sources = forget_set(
                        train,
                        probe_class,
                        request_fraction,
                        holdings.seed ^ PROBE_SEED,
                    )?;
                    let probe = train.select(&sources);
                    let c = first_order::calibrate(
                        &model.model,
                        &probe,
                        holdings.validation,
                        fo,
                        budget,
                        holdings.seed,
                    )
                    .await?;
                    (Some(c.tau), Some(c))
                }
            },
            _ => (None, None),
        };
        Ok(Self {
            holdings,
            method: method.clone(),
            tau,
            calibration,
        })
    }

    /// The first-order step size the service settled on (`None` for the other methods).
    pub fn tau(&self) -> Option<f64> {
        self.tau
    }

    /// How tau was calibrated, if it was.
    pub fn calibration(&self) -> Option<&Calibration> {
        self.calibration.as_ref()
    }

    /// The same service stepping with another fixed first-order `tau` (to set the paper's tau
    /// beside a calibrated one); other methods are unchanged.
    pub fn with_tau(&self, tau: f64) -> Self {
        Self {
            tau: self.tau.map(|_| tau),
            calibration: None,
            ..self.clone()
        }
    }

    /// Unlearns `request` from `model`: the approximate methods use the submitted images and
    /// labels; retraining drops the request's source samples from the training set.
    pub async fn unlearn(&self, model: &Trained, request: &Request) -> Result<Cnn> {
        let submitted = &request.submitted;
        let Holdings {
            train,
            validation,
            training,
            seed,
        } = self.holdings;
        match &self.method {
            Method::FirstOrder(config) => {
                let tau = self.tau.expect("a first-order service has a tau");
                first_order::update(&model.model, submitted, config, tau, seed).await
            }
            Method::FineTune(settings) => {
                finetune::random_labels(&model.model, submitted, settings, seed).await
            }
            Method::GradientAscent(settings) => {
                finetune::gradient_ascent(&model.model, submitted, settings, seed).await
            }
            Method::Retrain => {
                let mut forget = vec![false; train.len()];
                request.sources.iter().for_each(|&i| forget[i] = true);
                let kept: Vec<usize> = (0..train.len()).filter(|&i| !forget[i]).collect();
                let kept = train.select(&kept);
                // The best checkpoint is validated without a class forgotten whole.
                let validation = without_absent_classes(validation, &kept);
                let outcome = crate::train::train(
                    &model.config,
                    training,
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
