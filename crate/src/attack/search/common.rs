//! What every boundary search shares: the goal, why a push fails, the margin the searches drive
//! to zero, the l2 distance, and the context a search works in. It depends on no other search
//! file, and every search file depends on it.

use serde::{Deserialize, Serialize};

use crate::attack::oracle::Oracle;
use crate::metrics::argmax;
use crate::rng;

/// Where to push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Across the nearest boundary, to any other class.
    Untargeted,
    /// Into class B (its index).
    Targeted(u16),
}

/// Why a sample could not be pushed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The model already misclassifies it (the paper attacks correct samples only).
    Misclassified,
    /// The query budget ran out before the boundary was crossed.
    Budget,
    /// The margin's gradient vanished (the box [0, 1] clipped every step).
    Stalled,
    /// The boundary lies beyond `max_l2`.
    TooFar,
    /// The crossing led into a class other than the target.
    WrongClass,
    /// No quantised (8-bit) image along the crossing leaves the true class.
    Quantisation,
}

/// What a search to the boundary ends with: the last iterate inside and the first outside
/// (unit-scale images), or why it gave up.
pub(super) type Reached = std::result::Result<(Vec<f32>, Vec<f32>), Failure>;

/// The margin of the true class `label` over the goal, from log-probabilities: positive while
/// the image is classified as `label` (untargeted) or not as B (targeted).
pub(super) fn margin(log_p: &[f32], label: u16, goal: Goal) -> f64 {
    let best_other = |skip: usize| {
        log_p
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != skip)
            .map(|(_, &v)| f64::from(v))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    match goal {
        Goal::Untargeted => f64::from(log_p[label as usize]) - best_other(label as usize),
        Goal::Targeted(b) => best_other(b as usize) - f64::from(log_p[b as usize]),
    }
}

/// Log-probabilities, with probabilities floored at 1e-30.
pub(super) fn log(p: &[f32]) -> Vec<f32> {
    p.iter().map(|&v| v.max(1e-30).ln()).collect()
}

/// The l2 distance of two unit-scale images.
pub(super) fn l2(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The sample a search pushes, the oracle it queries, its limits and its random stream.
pub(super) struct Context<'a> {
    /// The service's model behind its query-counting interface.
    pub(super) oracle: &'a mut Oracle,
    /// The original image on the unit scale.
    pub(super) x0: &'a [f32],
    /// Its true label.
    pub(super) label: u16,
    /// Where to push it.
    pub(super) goal: Goal,
    /// The oracle's query count when the push began.
    pub(super) first_query: u64,
    /// Queries allowed for this sample.
    pub(super) query_budget: u64,
    /// Largest l2 distance of an iterate from `x0`.
    pub(super) max_l2: f64,
    /// The push's random stream (probe directions, coordinates).
    pub(super) rng: rng::Rng,
}

impl Context<'_> {
    /// Whether the sample's query budget is spent.
    pub(super) fn budget_spent(&self) -> bool {
        self.oracle.queries() - self.first_query >= self.query_budget
    }

    /// The margin (see [`margin`]) of class probabilities `p`.
    pub(super) fn margin(&self, p: &[f32]) -> f64 {
        margin(&log(p), self.label, self.goal)
    }

    /// Whether class probabilities `p` are across the boundary: the margin is not positive and,
    /// untargeted, the image is no longer classified as the true label.
    pub(super) fn across(&self, p: &[f32]) -> bool {
        self.margin(p) <= 0.0 && (matches!(self.goal, Goal::Targeted(_)) || argmax(p) != self.label)
    }

    /// The margin of each of the `classes()`-value rows of `answers`.
    pub(super) fn margins(&self, answers: &[f32]) -> Vec<f64> {
        answers
            .chunks(self.oracle.classes())
            .map(|p| self.margin(p))
            .collect()
    }
}
