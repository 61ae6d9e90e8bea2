//! The adaptive attacker: one who knows the service screens requests for samples near the
//! decision boundary, and stops short of it. Pushing stopped at a margin floor, and blending
//! stopped at a confidence, each found by bisection along the straight line from the original
//! image (a few queries a sample, all samples in one batch a step).

use super::oracle::Oracle;
use super::request::{Pushed, SubmittedLabel, blend, blend_partners, labels};
use crate::data::Dataset;
use crate::error::{Result, check_number};
use crate::model::input;
use crate::unlearn::request::Request;

/// Bisection steps: the line's resolution is 2^-12.
pub const BISECTION_STEPS: usize = 12;

/// The margin of one row of probabilities for `label`: its probability minus the highest
/// other class's (negative once the image is classified otherwise).
pub fn label_margin(probabilities: &[f32], label: u16) -> f64 {
    let other = probabilities
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != label as usize)
        .fold(f32::NEG_INFINITY, |m, (_, &p)| m.max(p));
    f64::from(probabilities[label as usize] - other)
}

/// Pushing-I stopped at a margin floor: each sample moves from its original image toward its
/// Pushing-I image only as far as keeps its margin (see [`label_margin`]) at least `floor`.
/// `floor` 0 is Pushing-I itself; a sample that could not be pushed is submitted as it is.
pub async fn floored_pushing(
    oracle: &mut Oracle,
    train: &Dataset,
    sources: &[usize],
    pushed: &Pushed,
    floor: f64,
    choice: SubmittedLabel,
    class_b: u16,
) -> Result<Request> {
    check_number("floor", floor, 0.0, 1.0, false)?;
    let ends: Vec<Vec<u8>> = sources
        .iter()
        .zip(&pushed.outcomes)
        .map(|(&s, o)| {
            o.as_ref()
                .map_or_else(|_| train.image(s).to_vec(), |c| c.inside.clone())
        })
        .collect();
    let images = furthest(oracle, train, sources, &ends, |p, label| {
        label_margin(p, label) >= floor
    })
    .await?;
    let labels = labels(oracle, train, sources, &images, choice, class_b).await?;
    Ok(Request::new(train, sources, images, labels))
}

/// Blending at a confidence: each sample blended with a seeded training image of
/// `blend_class`, that image's weight as large as keeps the model's probability of the
/// sample's class at least `confidence`.
pub async fn confident_blending(
    oracle: &mut Oracle,
    train: &Dataset,
    sources: &[usize],
    blend_class: u16,
    confidence: f64,
    choice: SubmittedLabel,
    seed: u64,
) -> Result<Request> {
    check_number("confidence", confidence, 0.0, 1.0, false)?;
    let partners = blend_partners(train, sources.len(), blend_class, seed)?;
    let ends: Vec<Vec<u8>> = partners.iter().map(|&b| train.image(b).to_vec()).collect();
    let images = furthest(oracle, train, sources, &ends, |p, label| {
        f64::from(p[label as usize]) >= confidence
    })
    .await?;
    let labels = labels(oracle, train, sources, &images, choice, blend_class).await?;
    Ok(Request::new(train, sources, images, labels))
}

/// For each source, the blend of its image toward `ends[k]` with the largest weight (to
/// [`BISECTION_STEPS`] bisections) at which `keep(probabilities, true label)` still holds; the
/// original image when even a small step breaks it.
async fn furthest(
    oracle: &mut Oracle,
    train: &Dataset,
    sources: &[usize],
    ends: &[Vec<u8>],
    keep: impl Fn(&[f32], u16) -> bool,
) -> Result<Vec<Vec<u8>>> {
    let n = sources.len();
    let (mut lo, mut hi) = (vec![0.0f64; n], vec![1.0f64; n]);
    let mix = |k: usize, w: f64| blend(train.image(sources[k]), &ends[k], w);
    // The end itself first: where it is kept, no bisection is needed.
    for step in 0..=BISECTION_STEPS {
        let weights: Vec<f64> = (0..n)
            .map(|k| {
                if step == 0 {
                    1.0
                } else {
                    (lo[k] + hi[k]) / 2.0
                }
            })
            .collect();
        let batch: Vec<f32> = (0..n)
            .flat_map(|k| input::unit_pixels(&mix(k, weights[k])))
            .collect();
        let probabilities = oracle.query(&batch).await?;
        for (k, p) in probabilities.chunks(oracle.classes()).enumerate() {
            let kept = keep(p, train.labels[sources[k]]);
            match (step, kept) {
                (0, true) => lo[k] = 1.0,
                (0, false) => {}
                (_, true) => lo[k] = weights[k],
                (_, false) => hi[k] = weights[k],
            }
        }
        if lo.iter().all(|&l| l == 1.0) {
            break;
        }
    }
    Ok((0..n).map(|k| mix(k, lo[k])).collect())
}
