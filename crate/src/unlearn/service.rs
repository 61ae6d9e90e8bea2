//! The service itself: set up once with its method (the first-order step size fixed, or
//! calibrated on a probe of the service's choosing), then asked to unlearn requests.

use std::cell::RefCell;
use std::collections::HashMap;

use super::defence::monitor::Allowance;
use super::defence::{Check, Defence, Guard, Verdict, majority};
use super::first_order::{self, Calibration, Tau};
use super::request::{Request, forget_set};
use super::{Method, finetune};
use crate::data::Dataset;
use crate::error::Result;
use crate::metrics;
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
    guard: Option<Guard>,
    /// Per-class validation accuracy of the model before any request (for monitoring).
    validation_before: Vec<f64>,
    /// What a normal request of a (class, size) costs each class, measured when first needed.
    allowances: RefCell<HashMap<(u16, usize), Allowance>>,
}

/// What the service did with a request: its verdict, each defence's finding, and the model
/// after it (the model it was asked about when nothing was applied).
#[derive(Debug, Clone)]
pub struct Handled {
    /// Accepted, trimmed, rejected or rolled back.
    pub verdict: Verdict,
    /// Each defence's finding, in the order they ran.
    pub checks: Vec<Check>,
    /// The model after the request.
    pub model: Cnn,
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
            guard: None,
            validation_before: Vec::new(),
            allowances: RefCell::new(HashMap::new()),
        })
    }

    /// The same service defending itself with `defences`, calibrated on its data and `model`.
    pub async fn defended(mut self, model: &Trained, defences: &[Defence]) -> Result<Self> {
        let Holdings {
            train,
            validation,
            seed,
            ..
        } = self.holdings;
        let guard = Guard::new(defences, &model.model, train, validation, seed).await?;
        if guard.monitor_margin().is_some() {
            self.validation_before = metrics::evaluate(&model.model, validation).await?.per_class;
        }
        self.guard = Some(guard);
        Ok(self)
    }

    /// Bytes the defences keep between requests beyond the service's data ([`Guard::kept_bytes`],
    /// and when monitoring the validation accuracies before and the allowances measured).
    pub fn defence_bytes(&self) -> usize {
        self.guard.as_ref().map_or(0, Guard::kept_bytes)
            + self.validation_before.len() * 8
            + self.allowances.borrow().len() * std::mem::size_of::<Allowance>()
    }

    /// The service's defences (none unless [`Self::defended`]).
    pub fn guard(&self) -> Option<&Guard> {
        self.guard.as_ref()
    }

    /// Handles `request` against `model` as a defended service does: screens it, unlearns what
    /// passed, and (when monitoring) rolls the update back if a class drops too far.
    pub async fn handle(&self, model: &Trained, request: &Request) -> Result<Handled> {
        let Some(guard) = &self.guard else {
            let unlearned = self.unlearn(model, request).await?;
            return Ok(Handled {
                verdict: Verdict::Accepted,
                checks: Vec::new(),
                model: unlearned,
            });
        };
        let train = self.holdings.train;
        let screening = guard
            .screen(&model.model, train, &request.submitted)
            .await?;
        let mut checks = screening.checks;
        if let Some(reason) = screening.rejection {
            return Ok(Handled {
                verdict: Verdict::Rejected { reason },
                checks,
                model: model.model.clone(),
            });
        }
        let rejected = request.sources.len() - screening.kept.len();
        let kept = request.keep(&screening.kept);
        let unlearned = self.unlearn(model, &kept).await?;
        let mut verdict = match rejected {
            0 => Verdict::Accepted,
            rejected => Verdict::Trimmed { rejected },
        };
        if let Some(margin) = guard.monitor_margin() {
            let start = web_time::Instant::now();
            let class = majority(kept.submitted.labels.iter().copied());
            let allowance = self
                .allowance(model, class, kept.sources.len(), margin)
                .await?;
            let validation = self.holdings.validation;
            let after = metrics::evaluate(&unlearned, validation).await?.per_class;
            let breach = allowance.breach(&self.validation_before, &after, &validation.class_names);
            checks.push(Check {
                defence: "monitor".into(),
                flagged: breach.is_some(),
                rejected: 0,
                detail: breach
                    .clone()
                    .unwrap_or_else(|| "no class dropped past its allowance".into()),
                seconds: start.elapsed().as_secs_f64(),
            });
            if let Some(reason) = breach {
                verdict = Verdict::RolledBack { reason };
            }
        }
        let model = if verdict.applied() {
            unlearned
        } else {
            model.model.clone()
        };
        Ok(Handled {
            verdict,
            checks,
            model,
        })
    }

    /// What a normal request of `size` samples of class `class` costs each class on validation
    /// (measured once, on a seeded draw of the service's own training images), with `margin`.
    async fn allowance(
        &self,
        model: &Trained,
        class: u16,
        size: usize,
        margin: f64,
    ) -> Result<Allowance> {
        if let Some(a) = self.allowances.borrow().get(&(class, size)) {
            return Ok(a.clone());
        }
        let train = self.holdings.train;
        let members = train.labels.iter().filter(|&&l| l == class).count().max(1);
        let fraction = (size as f64 / members as f64).min(1.0);
        let sources = forget_set(train, class, fraction, self.holdings.seed ^ PROBE_SEED)?;
        let images = sources.iter().map(|&s| train.image(s).to_vec()).collect();
        let labels = sources.iter().map(|&s| train.labels[s]).collect();
        let probe = Request::new(train, &sources, images, labels);
        let unlearned = self.unlearn(model, &probe).await?;
        let validation = self.holdings.validation;
        let after = metrics::evaluate(&unlearned, validation).await?.per_class;
        let allowance = Allowance {
            normal_drop: self
                .validation_before
                .iter()
                .zip(&after)
                .map(|(b, a)| (b - a).max(0.0))
                .collect(),
            margin,
        };
        self.allowances
            .borrow_mut()
            .insert((class, size), allowance.clone());
        Ok(allowance)
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
