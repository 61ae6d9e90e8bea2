//! Our query-efficient search: DeepFool-style linearised steps to the zero of the margin, its
//! gradient estimated from antithetic Gaussian probes (black-box), or exact through autodiff
//! (the white-box reference, same steps).

use serde::{Deserialize, Serialize};

use super::common::{Context, Failure, Reached, l2};
use super::gradient::{self, Differences, Probes, WhiteBox};
use crate::error::Result;

/// Settings of the query-efficient search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EfficientConfig {
    /// Antithetic probe pairs per gradient estimate (2 queries each).
    pub probes: usize,
    /// Probe radius (l2 of each probe direction, on [0, 1] pixels).
    pub sigma: f64,
    /// Overshoot of each linearised step past the estimated boundary.
    pub overshoot: f64,
    /// Side of the coarse grid the probe directions are drawn on (then upsampled to the image),
    /// as ZOO's attack-space reduction: smoother crafted images, fewer queries. 0 = full size.
    pub resolution: usize,
}

impl Default for EfficientConfig {
    fn default() -> Self {
        Self {
            probes: 24,
            sigma: 0.5,
            overshoot: 1.2,
            resolution: 8,
        }
    }
}

/// Where the steps' gradients come from.
pub(super) enum GradientSource<'a> {
    /// Estimated from antithetic probes with these settings (black-box).
    Estimated(&'a EfficientConfig),
    /// Exact, through autodiff (the white-box reference).
    WhiteBox(&'a WhiteBox),
}

impl GradientSource<'_> {
    /// Overshoot of each step past the linearised boundary.
    fn overshoot(&self) -> f64 {
        match self {
            Self::Estimated(eff) => eff.overshoot,
            Self::WhiteBox(_) => 1.05,
        }
    }

    /// The margin at `x` and its gradient.
    async fn margin_gradient(&self, ctx: &mut Context<'_>, x: &[f32]) -> Result<(f64, Vec<f64>)> {
        match self {
            Self::WhiteBox(white) => white.margin_gradient(ctx, x).await,
            Self::Estimated(eff) => {
                let p = ctx.oracle.query(x).await?;
                let m = ctx.margin(&p);
                let probes = Probes {
                    count: eff.probes,
                    sigma: eff.sigma,
                    resolution: eff.resolution,
                    differences: Differences::Antithetic,
                };
                Ok((m, gradient::estimate(ctx, x, &probes).await?))
            }
        }
    }

    /// The slope of the margin at `x` along the gradient `g` of norm `norm`: exact for
    /// white-box; for the black-box estimate, measured by one more pair of probes (a sampled
    /// gradient's norm overstates the slope by about sqrt(dimensions / probes), which would
    /// shorten every step).
    async fn slope(&self, ctx: &mut Context<'_>, x: &[f32], g: &[f64], norm: f64) -> Result<f64> {
        let Self::Estimated(eff) = self else {
            return Ok(norm);
        };
        let sigma = eff.sigma;
        let along = |sign: f64| -> Vec<f32> {
            x.iter()
                .zip(g)
                .map(|(&a, &gi)| (f64::from(a) + sign * sigma * gi / norm) as f32)
                .collect()
        };
        let pair = [along(1.0), along(-1.0)].concat();
        let answers = ctx.oracle.query(&pair).await?;
        let m = ctx.margins(&answers);
        Ok((m[0] - m[1]) / (2.0 * sigma))
    }
}

/// DeepFool-style steps x <- x - overshoot * m(x) / |g|^2 * g toward the zero of the margin m,
/// with g from `source`. Returns the last iterate inside and the first outside.
pub(super) async fn search(ctx: &mut Context<'_>, source: &GradientSource<'_>) -> Result<Reached> {
    let x0 = ctx.x0;
    let mut x = x0.to_vec();
    let overshoot = source.overshoot();
    // Where the box [0, 1] clips a step, the margin may barely move: lengthen the steps then.
    let (mut stretch, mut last_margin) = (1.0, f64::INFINITY);
    loop {
        if ctx.budget_spent() {
            return Ok(Err(Failure::Budget));
        }
        let (m, g) = source.margin_gradient(ctx, &x).await?;
        if m <= 0.0 {
            // Already across: the previous iterate is the inside point (or x0 at the start).
            return Ok(Ok((x0.to_vec(), x)));
        }
        let norm2: f64 = g.iter().map(|v| v * v).sum();
        if norm2 <= 1e-20 || !norm2.is_finite() {
            return Ok(Err(Failure::Stalled));
        }
        stretch = if m > 0.9 * last_margin {
            stretch * 2.0
        } else {
            1.0
        };
        last_margin = m;
        let norm = norm2.sqrt();
        let slope = source.slope(ctx, &x, &g, norm).await?;
        if slope <= 1e-12 || !slope.is_finite() {
            return Ok(Err(Failure::Stalled));
        }
        let step = stretch * overshoot * m / slope / norm;
        let next: Vec<f32> = x
            .iter()
            .zip(&g)
            .map(|(&a, &gi)| (f64::from(a) - step * gi).clamp(0.0, 1.0) as f32)
            .collect();
        if l2(&next, x0) > ctx.max_l2 {
            return Ok(Err(Failure::TooFar));
        }
        let p = ctx.oracle.query(&next).await?;
        if ctx.across(&p) {
            return Ok(Ok((x, next)));
        }
        x = next;
    }
}
