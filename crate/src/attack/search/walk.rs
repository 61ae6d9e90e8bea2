//! Walking along the decision boundary toward the original after the first crossing, to shrink
//! the perturbation (HopSkipJumpAttack's geometric progression, Chen et al. 2020, with the
//! boundary's normal estimated from class probabilities rather than decisions):
//!
//! 1. binary search on the segment from the original `x0` to the crossing: a boundary point `x_b`;
//! 2. estimate the margin's gradient at `x_b` from one-sided random probes, averaged with the previous
//!    iterations' estimates (neighbouring boundary points have similar normals);
//! 3. try the ray from `x0` along the averaged normal at distance `|x_b - x0|` (the shortest way
//!    across a flat boundary); if it does not cross, step from `x_b` along the normal into the
//!    goal's side by `|x_b - x0| / sqrt(t)`, halving the step until the point crosses;
//! 4. binary search from `x0` to that point: a new boundary point, kept when it is closer.
//!
//! Targeted, the segment from `x0` may pass through a third class; such boundary points are
//! walked from, but only points whose inside end keeps the true label are returned, so the walk
//! follows the boundary with class B toward a point where the true class meets B directly.

use serde::{Deserialize, Serialize};

use super::common::{Context, Goal, l2};
use super::gradient::{self, Differences, Probes};
use crate::error::Result;
use crate::metrics::argmax;

/// Settings of the boundary walk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WalkConfig {
    /// Walk iterations; 0 submits the first crossing as found.
    pub iterations: usize,
    /// Probe directions per estimate of the boundary's normal (one-sided differences from the
    /// boundary point: 1 query each, plus 1 for the point).
    pub probes: usize,
    /// Side of the coarse grid the probe directions are drawn on; 0 = full size.
    pub resolution: usize,
}

impl Default for WalkConfig {
    fn default() -> Self {
        Self {
            iterations: 12,
            probes: 48,
            resolution: 16,
        }
    }
}

/// Whether probabilities `p` are on the goal's side of the boundary (by the predicted class,
/// where the searches' [`Context::across`] asks for a non-positive margin).
fn reached(p: &[f32], label: u16, goal: Goal) -> bool {
    match goal {
        Goal::Untargeted => argmax(p) != label,
        Goal::Targeted(b) => argmax(p) == b,
    }
}

/// A boundary point: the two ends of a short segment across it.
struct Boundary {
    /// The last point not on the goal's side.
    inside: Vec<f32>,
    /// The first point on the goal's side.
    outside: Vec<f32>,
    /// The class of `inside`.
    inside_label: u16,
}

impl Boundary {
    fn distance(&self, x0: &[f32]) -> f64 {
        l2(&self.outside, x0)
    }
}

/// Binary search on the segment from `x0` (classified `label`) to `outside` (on the goal's side)
/// until the ends are within 1% of the segment's length.
async fn bisect(ctx: &mut Context<'_>, outside: &[f32]) -> Result<Boundary> {
    let (x0, label, goal) = (ctx.x0, ctx.label, ctx.goal);
    let at = |t: f32| -> Vec<f32> {
        x0.iter()
            .zip(outside)
            .map(|(&a, &b)| a + t * (b - a))
            .collect()
    };
    let (mut lo, mut hi, mut inside_label) = (0.0f32, 1.0f32, label);
    while hi - lo > 0.01 {
        let mid = (lo + hi) / 2.0;
        let p = ctx.oracle.query(&at(mid)).await?;
        if reached(&p, label, goal) {
            hi = mid;
        } else {
            (lo, inside_label) = (mid, argmax(&p));
        }
    }
    Ok(Boundary {
        inside: at(lo),
        outside: at(hi),
        inside_label,
    })
}

/// Walks from the crossing `outside` (on the goal's side) along the boundary toward the
/// original while the sample's query budget lasts. Returns the closest boundary point whose
/// inside keeps the true label, as (inside, outside), or `None` if none was found.
pub(super) async fn walk(
    ctx: &mut Context<'_>,
    outside: &[f32],
    config: &WalkConfig,
) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
    let (x0, label, goal) = (ctx.x0, ctx.label, ctx.goal);
    let query_limit = ctx.first_query + ctx.query_budget;
    let mut current = bisect(ctx, outside).await?;
    let valid = |b: &Boundary| b.inside_label == label;
    let mut best = valid(&current).then(|| (current.inside.clone(), current.outside.clone()));
    let mut best_distance = if best.is_some() {
        current.distance(x0)
    } else {
        f64::INFINITY
    };
    let mut normal = vec![0.0f64; x0.len()];
    for t in 1..=config.iterations {
        if ctx.oracle.queries() >= query_limit {
            break;
        }
        let d = current.distance(x0);
        let sigma = (0.05 * d).clamp(0.01, 0.2);
        let probes = Probes {
            count: config.probes,
            sigma,
            resolution: config.resolution,
            differences: Differences::OneSided,
        };
        let g = gradient::estimate(ctx, &current.outside, &probes).await?;
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            continue;
        }
        // The margin falls toward the goal's side. Neighbouring boundary points share about the
        // same normal: summing the unit estimates averages their noise away.
        normal
            .iter_mut()
            .zip(&g)
            .for_each(|(n, gi)| *n += gi / norm);
        let n_norm = normal.iter().map(|v| v * v).sum::<f64>().sqrt();
        let toward = |from: &[f32], length: f64| -> Vec<f32> {
            from.iter()
                .zip(&normal)
                .map(|(&a, &n)| (f64::from(a) - length * n / n_norm).clamp(0.0, 1.0) as f32)
                .collect()
        };
        // First the ray from the original along the averaged normal: the shortest way across a
        // flat boundary, tried at the current distance.
        let mut candidate = None;
        let ray = toward(x0, d);
        if reached(&ctx.oracle.query(&ray).await?, label, goal) {
            candidate = Some(ray);
        }
        // Otherwise a step from the boundary point along the normal, shortened geometrically.
        let mut xi = d / (t as f64).sqrt();
        for _ in 0..8 {
            if candidate.is_some() {
                break;
            }
            let x = toward(&current.outside, xi);
            if reached(&ctx.oracle.query(&x).await?, label, goal) {
                candidate = Some(x);
            }
            xi /= 2.0;
        }
        let Some(candidate) = candidate else {
            continue;
        };
        let next = bisect(ctx, &candidate).await?;
        let distance = next.distance(x0);
        if valid(&next) && distance < best_distance {
            best = Some((next.inside.clone(), next.outside.clone()));
            best_distance = distance;
        }
        if distance < d || (valid(&next) && !valid(&current)) {
            current = next;
        }
    }
    Ok(best)
}
