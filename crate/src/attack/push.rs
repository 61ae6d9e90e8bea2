//! Pushing: moving a correctly classified sample to the model's decision boundary, untargeted
//! (toward any other class) or targeted (toward class B), then refining the crossing with a
//! binary search on quantised images so that the two sides are within `eps` of each other:
//! **Pushing-I** submits the last image still classified as its true label, **Pushing-II** the
//! first one classified otherwise (as B when targeted).
//!
//! Three searches reach the boundary:
//! - [`Search::Zoo`]: the paper's black-box Carlini-Wagner attack through ZOO (coordinate-wise
//!   symmetric finite differences, Adam in tanh space), all probes of an iteration in one batch;
//! - [`Search::Efficient`]: our query-efficient black-box search: DeepFool-style linearised steps
//!   to the boundary of the margin, its gradient estimated from antithetic Gaussian probes;
//! - [`Search::WhiteBox`]: the same steps with the exact gradient through autodiff (a reference
//!   that needs the model's weights, labelled as such).

use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use web_time::Instant;

use super::oracle::Oracle;
use super::walk::{self, WalkConfig};
use super::whitebox::WhiteBox;
use crate::error::{Error, Result};
use crate::metrics::argmax;
use crate::model::input::{quantise, unit_pixels};
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

pub(super) fn log(p: &[f32]) -> Vec<f32> {
    p.iter().map(|&v| v.max(1e-30).ln()).collect()
}

pub(super) fn l2(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x - y).powi(2))
        .sum::<f64>()
        .sqrt()
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
    let mut rng = rng::stream(seed, "attack/push");
    let reached = match &config.search {
        Search::Zoo(zoo) => {
            zoo_search(oracle, &x0, label, goal, zoo, config, first_query, &mut rng).await?
        }
        Search::Efficient(eff) => {
            linear_search(
                oracle,
                None,
                &x0,
                label,
                goal,
                Some(eff),
                config,
                first_query,
                &mut rng,
            )
            .await?
        }
        Search::WhiteBox => {
            let white = WhiteBox::new(oracle.model());
            linear_search(
                oracle,
                Some(&white),
                &x0,
                label,
                goal,
                None,
                config,
                first_query,
                &mut rng,
            )
            .await?
        }
    };
    let (inside, outside) = match reached {
        Ok(pair) => pair,
        Err(failure) => return Ok(Err(failure)),
    };
    let walked = if config.walk.iterations > 0 {
        let limit = first_query + config.query_budget;
        walk::walk(
            oracle,
            &x0,
            label,
            goal,
            &outside,
            &config.walk,
            limit,
            &mut rng,
        )
        .await?
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

/// A random Gaussian direction for `shape`, drawn on a `resolution` x `resolution` grid per
/// channel and upsampled bilinearly to the image (smooth, so structural similarity suffers
/// little); 0 draws every pixel.
pub(super) fn direction(
    shape: crate::data::ImageShape,
    resolution: usize,
    rng: &mut rng::Rng,
) -> Vec<f32> {
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

/// How the margin's directional derivatives are sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Differences {
    /// (m(x + sigma u) - m(x - sigma u)) / 2 sigma: 2 queries per direction.
    Antithetic,
    /// (m(x + sigma u) - m(x)) / sigma: 1 query per direction, plus 1 for x.
    OneSided,
}

/// The margin's gradient at `x`, estimated from `probes` random directions (on the `resolution`
/// grid) of radius `sigma`, all in one batch.
#[allow(clippy::too_many_arguments)]
pub(super) async fn estimate_gradient(
    oracle: &mut Oracle,
    x: &[f32],
    label: u16,
    goal: Goal,
    probes: usize,
    sigma: f64,
    resolution: usize,
    differences: Differences,
    rng: &mut rng::Rng,
) -> Result<Vec<f64>> {
    let n = x.len();
    let sigma_f = sigma as f32;
    let per = match differences {
        Differences::Antithetic => 2,
        Differences::OneSided => 1,
    };
    let mut batch = Vec::with_capacity((per * probes + 1) * n);
    if differences == Differences::OneSided {
        batch.extend_from_slice(x);
    }
    let mut dirs = Vec::with_capacity(probes);
    for _ in 0..probes {
        let u = direction(oracle.shape(), resolution, rng);
        let norm = u.iter().map(|v| v * v).sum::<f32>().sqrt();
        let u: Vec<f32> = u.iter().map(|v| v / norm).collect();
        batch.extend(x.iter().zip(&u).map(|(a, d)| a + sigma_f * d));
        if differences == Differences::Antithetic {
            batch.extend(x.iter().zip(&u).map(|(a, d)| a - sigma_f * d));
        }
        dirs.push(u);
    }
    let answers = oracle.query(&batch).await?;
    let classes = oracle.classes();
    let m = |k: usize| margin(&log(&answers[k * classes..(k + 1) * classes]), label, goal);
    let mut g = vec![0.0f64; n];
    for (k, u) in dirs.iter().enumerate() {
        let slope = match differences {
            Differences::Antithetic => (m(2 * k) - m(2 * k + 1)) / (2.0 * sigma),
            Differences::OneSided => (m(k + 1) - m(0)) / sigma,
        };
        // Directional derivative times the dimension: an unbiased estimate of g.
        let d = slope * n as f64 / probes as f64;
        g.iter_mut()
            .zip(u)
            .for_each(|(gi, &ui)| *gi += d * f64::from(ui));
    }
    Ok(g)
}

/// DeepFool-style steps x <- x - overshoot * m(x) / |g|^2 * g toward the zero of the margin m,
/// with g estimated from antithetic probes (black-box) or exact (white-box, when `model` is
/// given). Returns the last iterate inside and the first outside.
#[allow(clippy::too_many_arguments)]
async fn linear_search(
    oracle: &mut Oracle,
    white: Option<&WhiteBox>,
    x0: &[f32],
    label: u16,
    goal: Goal,
    efficient: Option<&EfficientConfig>,
    config: &PushConfig,
    first_query: u64,
    rng: &mut rng::Rng,
) -> Result<std::result::Result<(Vec<f32>, Vec<f32>), Failure>> {
    let mut x = x0.to_vec();
    let overshoot = efficient.map_or(1.05, |e| e.overshoot);
    // Where the box [0, 1] clips a step, the margin may barely move: lengthen the steps then.
    let (mut stretch, mut last_margin) = (1.0, f64::INFINITY);
    loop {
        if oracle.queries() - first_query >= config.query_budget {
            return Ok(Err(Failure::Budget));
        }
        let (m, g) = match (white, efficient) {
            (Some(white), _) => white.margin_gradient(oracle, &x, label, goal).await?,
            (None, Some(eff)) => {
                let m = margin(&log(&oracle.query(&x).await?), label, goal);
                let g = estimate_gradient(
                    oracle,
                    &x,
                    label,
                    goal,
                    eff.probes,
                    eff.sigma,
                    eff.resolution,
                    Differences::Antithetic,
                    rng,
                )
                .await?;
                (m, g)
            }
            (None, None) => unreachable!("a search has a gradient source"),
        };
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
        // The slope of the margin along the direction: exact for white-box; for the black-box
        // estimate, measured by one more pair of probes (a sampled gradient's norm overstates
        // the slope by about sqrt(dimensions / probes), which would shorten every step).
        let norm = norm2.sqrt();
        let slope = match efficient {
            Some(eff) if white.is_none() => {
                let sigma = eff.sigma;
                let along = |sign: f64| -> Vec<f32> {
                    x.iter()
                        .zip(&g)
                        .map(|(&a, &gi)| (f64::from(a) + sign * sigma * gi / norm) as f32)
                        .collect()
                };
                let pair = [along(1.0), along(-1.0)].concat();
                let answers = oracle.query(&pair).await?;
                let classes = oracle.classes();
                let plus = margin(&log(&answers[..classes]), label, goal);
                let minus = margin(&log(&answers[classes..]), label, goal);
                (plus - minus) / (2.0 * sigma)
            }
            _ => norm,
        };
        if slope <= 1e-12 || !slope.is_finite() {
            return Ok(Err(Failure::Stalled));
        }
        let step = stretch * overshoot * m / slope / norm;
        let next: Vec<f32> = x
            .iter()
            .zip(&g)
            .map(|(&a, &gi)| (f64::from(a) - step * gi).clamp(0.0, 1.0) as f32)
            .collect();
        if l2(&next, x0) > config.max_l2 {
            return Ok(Err(Failure::TooFar));
        }
        let p = oracle.query(&next).await?;
        if margin(&log(&p), label, goal) <= 0.0
            && (matches!(goal, Goal::Targeted(_)) || argmax(&p) != label)
        {
            return Ok(Ok((x, next)));
        }
        x = next;
    }
}

/// The paper's ZOO: minimise ||x' - x||^2 + c * max(m(x'), 0) over w with x' = (tanh w + 1) / 2,
/// estimating each iteration's gradient on random coordinates by symmetric differences
/// (2 queries each, all in one batch with the iterate itself), with coordinate-wise Adam.
#[allow(clippy::too_many_arguments)]
async fn zoo_search(
    oracle: &mut Oracle,
    x0: &[f32],
    label: u16,
    goal: Goal,
    zoo: &ZooConfig,
    config: &PushConfig,
    first_query: u64,
    rng: &mut rng::Rng,
) -> Result<std::result::Result<(Vec<f32>, Vec<f32>), Failure>> {
    let n = x0.len();
    let to_w = |v: f32| f64::from((v * 2.0 - 1.0).clamp(-0.999_999, 0.999_999)).atanh();
    let to_x = |w: f64| ((w.tanh() + 1.0) / 2.0) as f32;
    let mut w: Vec<f64> = x0.iter().map(|&v| to_w(v)).collect();
    let (mut m1, mut m2, mut t) = (vec![0.0f64; n], vec![0.0f64; n], vec![0u32; n]);
    let (beta1, beta2) = (0.9, 0.999);
    let objective = |x: &[f32], p: &[f32]| {
        let dist: f64 = x
            .iter()
            .zip(x0)
            .map(|(&a, &b)| f64::from(a - b).powi(2))
            .sum();
        dist + zoo.c * margin(&log(p), label, goal).max(0.0)
    };
    let mut previous: Vec<f32> = x0.to_vec();
    let coords = zoo.coordinates.min(n);
    loop {
        if oracle.queries() - first_query >= config.query_budget {
            return Ok(Err(Failure::Budget));
        }
        let x: Vec<f32> = w.iter().map(|&v| to_x(v)).collect();
        let picked: Vec<usize> = rand::seq::index::sample(rng, n, coords).into_vec();
        let mut batch = Vec::with_capacity((2 * coords + 1) * n);
        batch.extend_from_slice(&x);
        for &i in &picked {
            for sign in [1.0, -1.0] {
                let mut probe = x.clone();
                probe[i] = to_x(w[i] + sign * zoo.h);
                batch.extend_from_slice(&probe);
            }
        }
        let answers = oracle.query(&batch).await?;
        let classes = oracle.classes();
        let p = &answers[..classes];
        if margin(&log(p), label, goal) <= 0.0
            && (matches!(goal, Goal::Targeted(_)) || argmax(p) != label)
        {
            return Ok(Ok((previous, x)));
        }
        if l2(&x, x0) > config.max_l2 {
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
            let fp = objective(&xp, &answers[(1 + 2 * k) * classes..(2 + 2 * k) * classes]);
            let fm = objective(&xm, &answers[(2 + 2 * k) * classes..(3 + 2 * k) * classes]);
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

impl PushConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if !(self.eps > 0.0 && self.max_l2 > 0.0) || self.query_budget == 0 {
            return Err(Error::config(
                "push",
                "eps, max_l2 and query_budget must be positive",
            ));
        }
        if self.walk.iterations > 0 && self.walk.probes == 0 {
            return Err(Error::config("walk", "a walk needs at least one probe"));
        }
        Ok(())
    }
}
