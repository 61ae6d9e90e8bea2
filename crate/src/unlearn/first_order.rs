//! The first-order update (Warnecke et al., NDSS 2023), the unlearning method the paper attacks:
//!
//! theta_u = theta - tau * ( sum_i grad L(z~_i, theta) - sum_i grad L(z_i, theta) )
//!
//! with z_i the submitted samples and z~_i their replacements. The gradients are summed, so only
//! tau times the request's size matters, and a tau that suits one model wrecks another: the
//! service can therefore [calibrate](calibrate) tau on its own model, as a real service would.
//!
//! The paper's text and its public code (`core.py`, `get_gradients_diff`) disagree on the
//! replacements; [`ServiceKind`] names each way of computing the update, and
//! [`ServiceKind::Reference`] is the one that produced the paper's numbers.

use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use super::{param_ids, summed_loss_grads};
use crate::data::Dataset;
use crate::error::{Error, Result, check_count, check_number};
use crate::metrics;
use crate::model::Cnn;
use crate::rng;
use crate::train::TrainConfig;

/// The named first-order services: what the update's first term descends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// What the paper's code computes (follows the code, not the text): **one** uniform-noise
    /// image, drawn once and labelled as each sample, whose term only counts for the final,
    /// partial gradient batch of [`FirstOrderConfig::batch_size`] samples (the code computes
    /// the noise outputs outside the gradient tape and recomputes them inside it only for a
    /// batch shorter than the batch size): `N mod batch_size` samples, all of them when the
    /// request is smaller than one batch, none when it is a multiple of it. On large requests
    /// this is, in effect, summed gradient ascent on the request plus a small noise term.
    #[default]
    Reference,
    /// The update as the paper's text states it: a fresh uniform-noise image, with the sample's
    /// label, for every sample.
    #[serde(alias = "noise")]
    AsWritten,
    /// No replacement term: tau times the summed gradient *ascent* on the request alone, the
    /// plain first-order removal of the samples.
    #[serde(alias = "none")]
    Removal,
    /// An all-black image with the sample's label for every sample (the code's type 0, without
    /// its batch quirk).
    Black,
    /// An all-white image with the sample's label for every sample (type 1, without its quirk).
    White,
    /// The same image with a random other label (the code's type 2).
    RandomLabel,
}

impl ServiceKind {
    /// Every service, in the order the CLI and the page list them.
    pub const ALL: [Self; 6] = [
        Self::Reference,
        Self::AsWritten,
        Self::Removal,
        Self::Black,
        Self::White,
        Self::RandomLabel,
    ];

    /// The name in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::AsWritten => "as_written",
            Self::Removal => "removal",
            Self::Black => "black",
            Self::White => "white",
            Self::RandomLabel => "random_label",
        }
    }
}

crate::named!(ServiceKind, "service");

/// Which parameters the update changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layers {
    /// Dense, its batch-norm and the output layer (the reference code's choice).
    #[default]
    Last,
    /// Every layer.
    All,
}

/// How the service picks tau.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tau {
    /// A fixed tau (the paper's: 2e-4).
    Fixed(f64),
    /// The largest tau for which a normal request of `request_fraction` of a class costs at most
    /// `budget` of validation accuracy; found once, then kept for every request.
    Calibrated {
        /// The probe request's size, as a fraction of one class's training images.
        request_fraction: f64,
        /// The accuracy the probe may cost (0.02 = 2 points).
        budget: f64,
    },
}

/// The paper's step size.
pub const PAPER_TAU: f64 = 2e-4;

/// The calibration probe's default size: a normal request of 10% of one class's training images.
pub const CALIBRATION_PROBE: f64 = 0.1;

/// The accuracy the calibration probe may cost by default: 2 points.
pub const CALIBRATION_BUDGET: f64 = 0.02;

/// The reference code's gradient batch size.
pub const REFERENCE_BATCH: usize = 256;

/// The first-order method's parameters. The defaults are the paper's service as its code runs
/// it: [`ServiceKind::Reference`], tau 2e-4, one step, the last layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FirstOrderConfig {
    /// The step size, fixed or calibrated.
    pub tau: Tau,
    /// Update steps (the gradients are recomputed at each step).
    pub steps: usize,
    /// How the update is computed (older configs called this `replacement`).
    #[serde(alias = "replacement")]
    pub service: ServiceKind,
    /// The gradient batch size of [`ServiceKind::Reference`] (whose noise term acts on the final,
    /// partial batch); the other services sum over the whole request whatever the batch.
    pub batch_size: usize,
    /// Which layers are updated.
    pub layers: Layers,
}

impl Default for FirstOrderConfig {
    fn default() -> Self {
        Self {
            tau: Tau::Fixed(PAPER_TAU),
            steps: 1,
            service: ServiceKind::Reference,
            batch_size: REFERENCE_BATCH,
            layers: Layers::Last,
        }
    }
}

impl FirstOrderConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_count("steps", self.steps, 1, 100)?;
        check_count(
            "batch_size",
            self.batch_size,
            1,
            TrainConfig::MAX_BATCH_SIZE,
        )?;
        match self.tau {
            Tau::Fixed(t) => check_number("tau", t, 0.0, CALIBRATION_LIMIT, true),
            Tau::Calibrated {
                request_fraction,
                budget,
            } if !(f64::MIN_POSITIVE..=1.0).contains(&request_fraction)
                || !(f64::MIN_POSITIVE..1.0).contains(&budget) =>
            {
                Err(Error::config(
                    "tau",
                    format!(
                        "calibration needs a request fraction in (0, 1] and a budget in (0, 1), \
                         not {request_fraction} and {budget}"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The replacements z~ that `service`'s first term descends on for `request`, drawn from the
/// stream of `seed`: one per sample, except for [`ServiceKind::Reference`] (one noise image for
/// the samples of the final, partial batch of `batch_size`) and [`ServiceKind::Removal`] (none).
pub fn replacements(
    request: &Dataset,
    service: ServiceKind,
    batch_size: usize,
    seed: u64,
) -> Dataset {
    let mut rng = rng::stream(seed, "unlearn/replacement");
    let mut out = request.clone();
    match service {
        ServiceKind::Reference => {
            let n = request.len();
            let tail: Vec<usize> = (n - n % batch_size.max(1)..n).collect();
            let noise: Vec<u8> = (0..request.shape.len()).map(|_| rng.random()).collect();
            out = request.select(&tail);
            out.images
                .chunks_exact_mut(noise.len())
                .for_each(|image| image.copy_from_slice(&noise));
        }
        ServiceKind::AsWritten => out.images.iter_mut().for_each(|p| *p = rng.random()),
        ServiceKind::Black => out.images.fill(0),
        ServiceKind::White => out.images.fill(255),
        ServiceKind::Removal => out = request.select(&[]),
        ServiceKind::RandomLabel => {
            let classes = request.num_classes() as u16;
            for label in &mut out.labels {
                let other = rng.random_range(1..classes);
                *label = (*label + other) % classes;
            }
        }
    }
    out
}

/// Applies the update with step size `tau` to `model` (a plain, inference model) and returns
/// the unlearned model. The gradients are taken in inference mode.
pub async fn update(
    model: &Cnn,
    request: &Dataset,
    config: &FirstOrderConfig,
    tau: f64,
    seed: u64,
) -> Result<Cnn> {
    config.validate()?;
    if !tau.is_finite() || tau <= 0.0 {
        return Err(Error::config(
            "tau",
            format!("{tau} is not a finite positive number"),
        ));
    }
    let device = model.device();
    let replaced = replacements(request, config.service, config.batch_size, seed);
    let mut net = model.differentiable(&device);
    let mut sgd = SgdConfig::new().init();
    for _ in 0..config.steps {
        let ids = match config.layers {
            Layers::All => param_ids(&net),
            Layers::Last => {
                let (dense, norm, output) = net.last_layers();
                let mut ids = param_ids(dense);
                ids.extend(norm.map(param_ids).unwrap_or_default());
                ids.extend(param_ids(output));
                ids
            }
        };
        let mut grads = GradientsParams::new();
        summed_loss_grads(&net, &replaced, &ids, 1.0, &mut grads)?;
        summed_loss_grads(&net, request, &ids, -1.0, &mut grads)?;
        net = sgd.step(tau, net, grads);
    }
    Ok(net.valid())
}

/// The outcome of calibrating tau.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The chosen tau.
    pub tau: f64,
    /// Validation accuracy before any unlearning.
    pub accuracy_before: f64,
    /// Validation accuracy after the probe request at the chosen tau.
    pub accuracy_after: f64,
    /// Every (tau, validation accuracy) tried, in order.
    pub tried: Vec<(f64, f64)>,
}

/// The smallest tau the calibration starts from.
const CALIBRATION_START: f64 = 1e-6;
/// The largest tau the calibration tries before it gives up.
const CALIBRATION_LIMIT: f64 = 1e3;

/// Finds the largest tau (to within 10%) for which unlearning `probe` (a normal request) costs at
/// most `budget` of accuracy on `validation`, **and so does every smaller tau tried**: the search
/// climbs from 1e-6 by doubling to the first tau that breaks the budget, then bisects. (The
/// cost is not monotone: once the update has removed class A, the images it used to take are
/// predicted as other classes, some of them correctly, so overall accuracy can recover at a
/// far larger tau; a search that started high could settle there, measured on the tutorial.)
/// Gives up with a message after a bounded search when no tau fits or none breaks the budget.
pub async fn calibrate(
    model: &Cnn,
    probe: &Dataset,
    validation: &Dataset,
    config: &FirstOrderConfig,
    budget: f64,
    seed: u64,
) -> Result<Calibration> {
    let before = metrics::evaluate(model, validation).await?.accuracy;
    let chance = 1.0 / validation.num_classes().max(1) as f64;
    if before < 1.5 * chance {
        return Err(Error::config(
            "tau",
            format!(
                "cannot be calibrated: the model is at chance level on validation ({:.1}% with \
                 {} classes, chance {:.1}%), so no request can cost it accuracy: train it \
                 longer, or fix tau",
                before * 100.0,
                validation.num_classes(),
                chance * 100.0
            ),
        ));
    }
    let mut tried = Vec::new();
    let cost = async |tau: f64, tried: &mut Vec<(f64, f64)>| -> Result<f64> {
        let unlearned = update(model, probe, config, tau, seed).await?;
        let after = metrics::evaluate(&unlearned, validation).await?.accuracy;
        tried.push((tau, after));
        Ok(after)
    };
    let fits = |after: f64| before - after <= budget;
    let pct = |a: f64| format!("{:.1}%", a * 100.0);
    // Climb: `good` fits the budget (as does every smaller tau tried), `bad` is the first that
    // does not.
    let mut good = None;
    let mut tau = CALIBRATION_START;
    let bad = loop {
        if tau > CALIBRATION_LIMIT {
            return Err(Error::config(
                "tau",
                format!(
                    "no tau up to {CALIBRATION_LIMIT:e} makes the probe cost more than {} of \
                     validation accuracy ({} before): the model hardly changes, or is too weak \
                     to lose anything (train it longer); fix tau instead",
                    pct(budget),
                    pct(before)
                ),
            ));
        }
        if !fits(cost(tau, &mut tried).await?) {
            break tau;
        }
        good = Some(tau);
        tau *= 2.0;
    };
    let Some(mut lo) = good else {
        return Err(Error::config(
            "tau",
            format!(
                "even tau {CALIBRATION_START:e} makes the probe cost more than {} of validation \
                 accuracy ({} before): raise the budget or fix tau",
                pct(budget),
                pct(before)
            ),
        ));
    };
    let mut hi = bad;
    while hi / lo > 1.1 {
        let mid = (lo * hi).sqrt();
        if fits(cost(mid, &mut tried).await?) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let after = tried
        .iter()
        .find(|(t, _)| *t == lo)
        .map(|&(_, a)| a)
        .expect("lo was tried");
    Ok(Calibration {
        tau: lo,
        accuracy_before: before,
        accuracy_after: after,
        tried,
    })
}
