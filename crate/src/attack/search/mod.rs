//! Pushing: moving a correctly classified sample to the model's decision boundary, untargeted
//! (toward any other class) or targeted (toward class B), then refining the crossing with a
//! binary search on quantised images so that the two sides are within `eps` of each other:
//! **Pushing-I** submits the last image still classified as its true label, **Pushing-II** the
//! first one classified otherwise (as B when targeted).
//!
//! Three searches reach the boundary, one file each:
//! - [`Search::Zoo`] (`zoo.rs`): the paper's black-box Carlini-Wagner attack through ZOO
//!   (coordinate-wise symmetric finite differences, Adam in tanh space), all probes of an
//!   iteration in one batch;
//! - [`Search::Efficient`] (`efficient.rs`): our query-efficient black-box search:
//!   DeepFool-style linearised steps to the boundary of the margin, its gradient estimated from
//!   antithetic Gaussian probes;
//! - [`Search::WhiteBox`] (`efficient.rs` too): the same steps with the exact gradient through
//!   autodiff (a reference that needs the model's weights, labelled as such).
//!
//! Then `walk.rs` walks along the boundary toward the original ([`WalkConfig`]), and this file
//! refines the crossing on quantised images. The margin's gradient, probed or exact, is in
//! `gradient.rs`; what every search shares (the goal, failures, the margin, the search context)
//! in `common.rs`, which depends on no other file here.

mod common;
mod efficient;
mod gradient;
mod walk;
mod zoo;

use serde::{Deserialize, Serialize};
use web_time::Instant;

pub use common::{Failure, Goal};
pub use efficient::EfficientConfig;
pub use walk::WalkConfig;
pub use zoo::ZooConfig;

use crate::attack::oracle::Oracle;
use crate::error::{Error, Result, check_count, check_number};
use crate::metrics::argmax;
use crate::model::input::{quantise, unit_pixels};
use crate::rng;
use common::{Context, l2};
use efficient::GradientSource;
use gradient::WhiteBox;

/// How to find the boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "search", rename_all = "snake_case")]
pub enum Search {
    /// The paper's ZOO (black-box).
    Zoo(ZooConfig),
    /// Our query-efficient black-box search.
    Efficient(EfficientConfig),
    /// Exact gradients through autodiff (white-box reference).
    WhiteBox,
}

/// Limits shared by every search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// How to search.
    pub search: Search,
    /// Queries allowed per sample before giving up.
    pub query_budget: u64,
    /// Largest l2 distance (on [0, 1] pixels) of a crafted image from its original.
    pub max_l2: f64,
    /// The binary search stops when the two sides are this close (l2, [0, 1] pixels).
    pub eps: f64,
    /// The walk along the boundary toward the original after the first crossing.
    pub walk: WalkConfig,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            search: Search::Efficient(EfficientConfig::default()),
            query_budget: 20_000,
            max_l2: 20.0,
            eps: 0.05,
            walk: WalkConfig::default(),
        }
    }
}

/// A sample pushed to the boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Crossing {
    /// Pushing-I: classified as the true label, within `eps` of `outside`.
    pub inside: Vec<u8>,
    /// Pushing-II: classified as another label (B when targeted).
    pub outside: Vec<u8>,
    /// The label `outside` is classified as.
    pub outside_label: u16,
    /// Model queries spent on this sample (forward and backward passes for white-box).
    pub queries: u64,
    /// Wall time spent on this sample.
    pub seconds: f64,
}

/// Pushes `image` (CHW bytes, true label `label`) across the boundary toward `goal`.
pub async fn push(
    oracle: &mut Oracle,
    image: &[u8],
    label: u16,
    goal: Goal,
    config: &PushConfig,
    seed: u64,
) -> Result<std::result::Result<Crossing, Failure>> {
    let start = Instant::now();
    let first_query = oracle.queries();
    let x0 = unit_pixels(image);
    let p0 = oracle.query(&x0).await?;
    if argmax(&p0) != label {
        return Ok(Err(Failure::Misclassified));
    }
    let mut ctx = Context {
        oracle: &mut *oracle,
        x0: &x0,
        label,
        goal,
        first_query,
        query_budget: config.query_budget,
        max_l2: config.max_l2,
        rng: rng::stream(seed, "attack/push"),
    };
    let reached = match &config.search {
        Search::Zoo(zoo) => zoo::search(&mut ctx, zoo).await?,
        Search::Efficient(eff) => {
            efficient::search(&mut ctx, &GradientSource::Estimated(eff)).await?
        }
        Search::WhiteBox => {
            let white = WhiteBox::new(ctx.oracle.model());
            efficient::search(&mut ctx, &GradientSource::WhiteBox(&white)).await?
        }
    };
    let (inside, outside) = match reached {
        Ok(pair) => pair,
        Err(failure) => return Ok(Err(failure)),
    };
    let walked = if config.walk.iterations > 0 {
        walk::walk(&mut ctx, &outside, &config.walk).await?
    } else {
        None
    };
    let (inside, outside) = walked.unwrap_or((inside, outside));
    // Untargeted, the crossing is refined on the straight line from the original, the shortest
    // way to it; targeted, first from the last point inside, as that line may cross a third class.
    let mut starts = vec![x0.clone()];
    if matches!(goal, Goal::Targeted(_)) {
        starts.insert(0, inside);
    }
    let mut failure = Failure::Quantisation;
    let mut found = None;
    for start in &starts {
        match refine(oracle, image, start, &outside, label, config.eps).await? {
            Some((_, _, l)) if matches!(goal, Goal::Targeted(b) if l != b) => {
                failure = Failure::WrongClass;
            }
            Some(pair) => {
                found = Some(pair);
                break;
            }
            None => {}
        }
    }
    let Some((inside, outside, outside_label)) = found else {
        return Ok(Err(failure));
    };
    let queries = oracle.queries() - first_query;
    Ok(Ok(Crossing {
        inside,
        outside,
        outside_label,
        queries,
        seconds: start.elapsed().as_secs_f64(),
    }))
}

/// Binary search on the segment from `inside` (classified `label`) to `outside` (not), on
/// quantised images, until the two sides are within `eps`. Returns both sides and the outside's
/// label, or `None` when no quantised image along the way leaves `label`. Quantising can carry
/// either end back across: the inside end then falls back to `original`, and the outside end is
/// pushed further along the same direction.
async fn refine(
    oracle: &mut Oracle,
    original: &[u8],
    inside: &[f32],
    outside: &[f32],
    label: u16,
    eps: f64,
) -> Result<Option<(Vec<u8>, Vec<u8>, u16)>> {
    let classify = async |oracle: &mut Oracle, q: &[u8]| -> Result<u16> {
        Ok(argmax(&oracle.query(&unit_pixels(q)).await?))
    };
    let mut start = quantise(inside);
    if classify(oracle, &start).await? != label {
        start = original.to_vec();
    }
    let start_f = unit_pixels(&start);
    let along = |f: f32| -> Vec<u8> {
        let x: Vec<f32> = start_f
            .iter()
            .zip(outside)
            .map(|(&i, &o)| (i + f * (o - i)).clamp(0.0, 1.0))
            .collect();
        quantise(&x)
    };
    let mut end = None;
    for f in [1.0, 1.5, 2.0, 3.0, 5.0, 8.0] {
        let q = along(f);
        let l = classify(oracle, &q).await?;
        if l != label {
            end = Some((f, q, l));
            break;
        }
    }
    let Some((f_end, mut q_hi, mut label_hi)) = end else {
        return Ok(None);
    };
    let (mut lo, mut hi, mut q_lo) = (0.0f32, f_end, start);
    for _ in 0..40 {
        if l2(&unit_pixels(&q_lo), &unit_pixels(&q_hi)) <= eps {
            break;
        }
        let mid = (lo + hi) / 2.0;
        let q_mid = along(mid);
        let l_mid = classify(oracle, &q_mid).await?;
        if l_mid == label {
            (lo, q_lo) = (mid, q_mid);
        } else {
            (hi, q_hi, label_hi) = (mid, q_mid, l_mid);
        }
    }
    Ok(Some((q_lo, q_hi, label_hi)))
}

impl PushConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if !(1..=Self::MAX_QUERY_BUDGET).contains(&self.query_budget) {
            return Err(Error::config(
                "query_budget",
                format!(
                    "{} is not allowed: give a whole number from 1 to {}",
                    self.query_budget,
                    Self::MAX_QUERY_BUDGET
                ),
            ));
        }
        check_number("max_l2", self.max_l2, 0.0, 100.0, true)?;
        check_number("eps", self.eps, 0.0, 1.0, true)?;
        let walk = &self.walk;
        check_count("walk.iterations", walk.iterations, 0, 100)?;
        check_count("walk.probes", walk.probes, 1, 1_024)?;
        check_count("walk.resolution", walk.resolution, 0, 1_024)?;
        match &self.search {
            Search::Efficient(e) => {
                check_count("search.probes", e.probes, 1, 1_024)?;
                check_number("search.sigma", e.sigma, 0.0, 10.0, true)?;
                check_number("search.overshoot", e.overshoot, 1.0, 10.0, false)?;
                check_count("search.resolution", e.resolution, 0, 1_024)
            }
            Search::Zoo(z) => {
                check_count("search.coordinates", z.coordinates, 1, 1 << 20)?;
                check_number("search.h", z.h, 0.0, 1.0, true)?;
                check_number("search.learning_rate", z.learning_rate, 0.0, 1.0, true)?;
                check_number("search.c", z.c, 0.0, 1e6, true)
            }
            Search::WhiteBox => Ok(()),
        }
    }

    /// The most model queries one sample's search may spend.
    pub const MAX_QUERY_BUDGET: u64 = 1_000_000;
}
