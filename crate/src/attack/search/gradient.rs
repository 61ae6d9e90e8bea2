//! The margin's gradient with respect to the image, two ways: estimated from random probes
//! (black-box: only class probabilities), or exact through autodiff (the white-box reference,
//! which needs the model's weights, which a real attacker does not have).

use burn::prelude::*;
use rand_distr::{Distribution, StandardNormal};

use super::common::{Context, Goal};
use crate::data::ImageShape;
use crate::error::Result;
use crate::model::{Cnn, input};
use crate::rng;
use crate::tensor::read_f32;

/// How the margin's directional derivatives are sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Differences {
    /// (m(x + sigma u) - m(x - sigma u)) / 2 sigma: 2 queries per direction.
    Antithetic,
    /// (m(x + sigma u) - m(x)) / sigma: 1 query per direction, plus 1 for x.
    OneSided,
}

/// The random probes of one gradient estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Probes {
    /// Probe directions.
    pub(super) count: usize,
    /// Probe radius (l2 of each direction, on the unit scale).
    pub(super) sigma: f64,
    /// Side of the coarse grid the directions are drawn on; 0 = full size.
    pub(super) resolution: usize,
    /// How each direction's derivative is sampled.
    pub(super) differences: Differences,
}

/// A random Gaussian direction for `shape`, drawn on a `resolution` x `resolution` grid per
/// channel and upsampled bilinearly to the image (smooth, so structural similarity suffers
/// little); 0 draws every pixel.
fn direction(shape: ImageShape, resolution: usize, rng: &mut rng::Rng) -> Vec<f32> {
    let (c, h, w) = (shape.channels, shape.height, shape.width);
    if resolution == 0 || resolution >= h.max(w) {
        return (0..c * h * w).map(|_| StandardNormal.sample(rng)).collect();
    }
    let r = resolution;
    let coarse: Vec<f32> = (0..c * r * r).map(|_| StandardNormal.sample(rng)).collect();
    // Pixel centre `i` of `size` on the coarse grid: the two neighbours and the weight of the second.
    let taps = |i: usize, size: usize| {
        let f = ((i as f32 + 0.5) * r as f32 / size as f32 - 0.5).clamp(0.0, (r - 1) as f32);
        let lo = f.floor() as usize;
        (lo, (lo + 1).min(r - 1), f - lo as f32)
    };
    let mut u = Vec::with_capacity(c * h * w);
    for ch in 0..c {
        let at = |y: usize, x: usize| coarse[(ch * r + y) * r + x];
        for row in 0..h {
            let (y0, y1, fy) = taps(row, h);
            for col in 0..w {
                let (x0, x1, fx) = taps(col, w);
                let top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
                let bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
                u.push(top * (1.0 - fy) + bottom * fy);
            }
        }
    }
    u
}

/// The margin's gradient at `x`, estimated from `probes` (random unit directions of radius
/// `sigma`, drawn from the context's stream), all in one batch.
pub(super) async fn estimate(
    ctx: &mut Context<'_>,
    x: &[f32],
    probes: &Probes,
) -> Result<Vec<f64>> {
    let n = x.len();
    let Probes {
        count,
        sigma,
        resolution,
        differences,
    } = *probes;
    let sigma_f = sigma as f32;
    let per = match differences {
        Differences::Antithetic => 2,
        Differences::OneSided => 1,
    };
    let mut batch = Vec::with_capacity((per * count + 1) * n);
    if differences == Differences::OneSided {
        batch.extend_from_slice(x);
    }
    let mut dirs = Vec::with_capacity(count);
    for _ in 0..count {
        let u = direction(ctx.oracle.shape(), resolution, &mut ctx.rng);
        let norm = u.iter().map(|v| v * v).sum::<f32>().sqrt();
        let u: Vec<f32> = u.iter().map(|v| v / norm).collect();
        batch.extend(x.iter().zip(&u).map(|(a, d)| a + sigma_f * d));
        if differences == Differences::Antithetic {
            batch.extend(x.iter().zip(&u).map(|(a, d)| a - sigma_f * d));
        }
        dirs.push(u);
    }
    let answers = ctx.oracle.query(&batch).await?;
    let m = ctx.margins(&answers);
    let mut g = vec![0.0f64; n];
    for (k, u) in dirs.iter().enumerate() {
        let slope = match differences {
            Differences::Antithetic => (m[2 * k] - m[2 * k + 1]) / (2.0 * sigma),
            Differences::OneSided => (m[k + 1] - m[0]) / sigma,
        };
        // Directional derivative times the dimension: an unbiased estimate of g.
        let d = slope * n as f64 / count as f64;
        g.iter_mut()
            .zip(u)
            .for_each(|(gi, &ui)| *gi += d * f64::from(ui));
    }
    Ok(g)
}

/// The model prepared for input gradients (inference mode, autodiff device).
#[derive(Debug, Clone)]
pub(super) struct WhiteBox {
    net: Cnn,
    device: Device,
}

impl WhiteBox {
    /// Prepares `model`.
    pub(super) fn new(model: &Cnn) -> Self {
        let device = model.device();
        Self {
            net: model.differentiable(&device),
            device: device.autodiff(),
        }
    }

    /// The margin at `x` (unit scale) and its exact gradient with respect to `x`. Charged to
    /// the oracle as one query.
    pub(super) async fn margin_gradient(
        &self,
        ctx: &mut Context<'_>,
        x: &[f32],
    ) -> Result<(f64, Vec<f64>)> {
        let (oracle, label, goal) = (&mut *ctx.oracle, ctx.label, ctx.goal);
        oracle.charge(1);
        let input = input::unit_tensor(x.to_vec(), oracle.shape(), &self.device).require_grad();
        let log_p = burn::tensor::activation::log_softmax(
            self.net.forward(input::from_unit(input.clone())),
            1,
        );
        let classes = oracle.classes();
        let one_hot = |k: u16| {
            let mut v = vec![0.0f32; classes];
            v[k as usize] = 1.0;
            Tensor::<2>::from_data(TensorData::new(v, [1, classes]), &self.device)
        };
        // max over the classes other than k: push k far down before taking the max.
        let best_other = |k: u16| (log_p.clone() - one_hot(k).mul_scalar(1e9)).max_dim(1);
        let pick = |k: u16| (log_p.clone() * one_hot(k)).sum_dim(1);
        let margin = match goal {
            Goal::Untargeted => pick(label) - best_other(label),
            Goal::Targeted(b) => best_other(b) - pick(b),
        };
        let grads = margin.clone().backward();
        let g = input
            .grad(&grads)
            .expect("the input takes part in the margin");
        let m = read_f32(margin.inner()).await?[0];
        let g = read_f32(g).await?.into_iter().map(f64::from).collect();
        Ok((f64::from(m), g))
    }
}
