//! The paper's black-box Carlini-Wagner attack through ZOO: coordinate-wise symmetric finite
//! differences and Adam in tanh space, all probes of an iteration in one batch.

use serde::{Deserialize, Serialize};

use super::common::{Context, Failure, Reached, l2};
use crate::error::Result;

/// The paper's ZOO settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZooConfig {
    /// Coordinates probed per iteration (2 queries each, plus 1 for the iterate).
    pub coordinates: usize,
    /// Finite-difference step.
    pub h: f64,
    /// Adam's learning rate in tanh space.
    pub learning_rate: f64,
    /// The weight c of the classification term.
    pub c: f64,
}

impl Default for ZooConfig {
    /// The paper's: 128 coordinates, h 1e-4, lr 1e-2, c 10.
    fn default() -> Self {
        Self {
            coordinates: 128,
            h: 1e-4,
            learning_rate: 1e-2,
            c: 10.0,
        }
    }
}

/// The paper's ZOO: minimise ||x' - x||^2 + c * max(m(x'), 0) over w with x' = (tanh w + 1) / 2,
/// estimating each iteration's gradient on random coordinates by symmetric differences
/// (2 queries each, all in one batch with the iterate itself), with coordinate-wise Adam.
/// Returns the previous iterate and the first one across.
pub(super) async fn search(ctx: &mut Context<'_>, zoo: &ZooConfig) -> Result<Reached> {
    let x0 = ctx.x0;
    let n = x0.len();
    let to_w = |v: f32| f64::from((v * 2.0 - 1.0).clamp(-0.999_999, 0.999_999)).atanh();
    let to_x = |w: f64| ((w.tanh() + 1.0) / 2.0) as f32;
    let mut w: Vec<f64> = x0.iter().map(|&v| to_w(v)).collect();
    let (mut m1, mut m2, mut t) = (vec![0.0f64; n], vec![0.0f64; n], vec![0u32; n]);
    let (beta1, beta2) = (0.9, 0.999);
    let objective = |ctx: &Context<'_>, x: &[f32], p: &[f32]| {
        let dist: f64 = x
            .iter()
            .zip(x0)
            .map(|(&a, &b)| f64::from(a - b).powi(2))
            .sum();
        dist + zoo.c * ctx.margin(p).max(0.0)
    };
    let mut previous: Vec<f32> = x0.to_vec();
    let coords = zoo.coordinates.min(n);
    loop {
        if ctx.budget_spent() {
            return Ok(Err(Failure::Budget));
        }
        let x: Vec<f32> = w.iter().map(|&v| to_x(v)).collect();
        let picked: Vec<usize> = rand::seq::index::sample(&mut ctx.rng, n, coords).into_vec();
        let mut batch = Vec::with_capacity((2 * coords + 1) * n);
        batch.extend_from_slice(&x);
        for &i in &picked {
            for sign in [1.0, -1.0] {
                let mut probe = x.clone();
                probe[i] = to_x(w[i] + sign * zoo.h);
                batch.extend_from_slice(&probe);
            }
        }
        let answers = ctx.oracle.query(&batch).await?;
        let classes = ctx.oracle.classes();
        if ctx.across(&answers[..classes]) {
            return Ok(Ok((previous, x)));
        }
        if l2(&x, x0) > ctx.max_l2 {
            return Ok(Err(Failure::TooFar));
        }
        for (k, &i) in picked.iter().enumerate() {
            let xp = {
                let mut v = x.clone();
                v[i] = to_x(w[i] + zoo.h);
                v
            };
            let xm = {
                let mut v = x.clone();
                v[i] = to_x(w[i] - zoo.h);
                v
            };
            let fp = objective(
                ctx,
                &xp,
                &answers[(1 + 2 * k) * classes..(2 + 2 * k) * classes],
            );
            let fm = objective(
                ctx,
                &xm,
                &answers[(2 + 2 * k) * classes..(3 + 2 * k) * classes],
            );
            let g = (fp - fm) / (2.0 * zoo.h);
            t[i] += 1;
            m1[i] = beta1 * m1[i] + (1.0 - beta1) * g;
            m2[i] = beta2 * m2[i] + (1.0 - beta2) * g * g;
            let mh = m1[i] / (1.0 - beta1.powi(t[i] as i32));
            let vh = m2[i] / (1.0 - beta2.powi(t[i] as i32));
            w[i] -= zoo.learning_rate * mh / (vh.sqrt() + 1e-8);
        }
        previous = x;
    }
}
