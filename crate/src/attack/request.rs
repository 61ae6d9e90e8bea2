//! Crafting unlearning requests: what a user submits for the samples it asks to forget (the
//! samples themselves, blends with class-B images, or samples pushed to the decision boundary:
//! Pushing-I and Pushing-II), each with a chosen submitted label.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::oracle::Oracle;
use super::search::{self, Crossing, Failure, Goal, PushConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::metrics;
use crate::model::input;
use crate::rng;
use crate::unlearn::request::Request;

/// The label submitted with each request image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmittedLabel {
    /// The model's prediction on the submitted image (the paper's text).
    #[default]
    Prediction,
    /// The sample's original label (what the paper's code submitted by default).
    Original,
    /// Class B.
    ClassB,
}

impl SubmittedLabel {
    /// Every choice.
    pub const ALL: [Self; 3] = [Self::Prediction, Self::Original, Self::ClassB];

    /// The name in configs, reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Prediction => "prediction",
            Self::Original => "original",
            Self::ClassB => "class_b",
        }
    }
}

crate::named!(SubmittedLabel, "label");

/// Chooses the submitted labels of `images`.
pub(crate) async fn labels(
    oracle: &mut Oracle,
    train: &Dataset,
    sources: &[usize],
    images: &[Vec<u8>],
    choice: SubmittedLabel,
    class_b: u16,
) -> Result<Vec<u16>> {
    Ok(match choice {
        SubmittedLabel::Original => sources.iter().map(|&s| train.labels[s]).collect(),
        SubmittedLabel::ClassB => vec![class_b; sources.len()],
        SubmittedLabel::Prediction => {
            let x = input::unit_pixels(&images.concat());
            let p = oracle.query(&x).await?;
            p.chunks(oracle.classes()).map(metrics::argmax).collect()
        }
    })
}

/// The normal request: the samples themselves.
pub async fn normal(
    oracle: &mut Oracle,
    train: &Dataset,
    sources: &[usize],
    choice: SubmittedLabel,
    class_b: u16,
) -> Result<Request> {
    let images: Vec<Vec<u8>> = sources.iter().map(|&s| train.image(s).to_vec()).collect();
    let labels = labels(oracle, train, sources, &images, choice, class_b).await?;
    Ok(Request::new(train, sources, images, labels))
}

/// The training images of class `blend_class` that `count` samples are blended with, drawn
/// with the seed (cycling when the class has fewer).
pub(crate) fn blend_partners(
    train: &Dataset,
    count: usize,
    blend_class: u16,
    seed: u64,
) -> Result<Vec<usize>> {
    let mut pool: Vec<usize> = (0..train.len())
        .filter(|&i| train.labels[i] == blend_class)
        .collect();
    if pool.is_empty() {
        return Err(Error::config(
            "blend_class",
            format!("class {blend_class} has no training image to blend with"),
        ));
    }
    pool.shuffle(&mut rng::stream(seed, "request/blend"));
    Ok((0..count).map(|k| pool[k % pool.len()]).collect())
}

/// Blending: x' = (1 - ratio) x + ratio x_b with a seeded training image x_b of class `blend_class`
/// per sample (also the label submitted under [`SubmittedLabel::ClassB`]).
pub async fn blending(
    oracle: &mut Oracle,
    train: &Dataset,
    sources: &[usize],
    blend_class: u16,
    ratio: f64,
    choice: SubmittedLabel,
    seed: u64,
) -> Result<Request> {
    if !(0.0..=1.0).contains(&ratio) {
        return Err(Error::config("ratio", format!("{ratio} is not in [0, 1]")));
    }
    let partners = blend_partners(train, sources.len(), blend_class, seed)?;
    let images: Vec<Vec<u8>> = sources
        .iter()
        .zip(&partners)
        .map(|(&s, &b)| blend(train.image(s), train.image(b), ratio))
        .collect();
    let labels = labels(oracle, train, sources, &images, choice, blend_class).await?;
    Ok(Request::new(train, sources, images, labels))
}

/// The blending formula on bytes, rounded to the nearest value.
pub fn blend(x: &[u8], x_b: &[u8], ratio: f64) -> Vec<u8> {
    x.iter()
        .zip(x_b)
        .map(|(&a, &b)| ((1.0 - ratio) * f64::from(a) + ratio * f64::from(b)).round() as u8)
        .collect()
}

/// The pushing of every sample of a request.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// Per sample: its crossing, or why there is none.
    pub outcomes: Vec<std::result::Result<Crossing, Failure>>,
}

impl Pushed {
    /// Crossings found.
    pub fn successes(&self) -> usize {
        self.outcomes.iter().filter(|o| o.is_ok()).count()
    }

    /// Queries per crossing found.
    pub fn queries(&self) -> Vec<u64> {
        self.outcomes.iter().flatten().map(|c| c.queries).collect()
    }

    /// Seconds per crossing found.
    pub fn seconds(&self) -> Vec<f64> {
        self.outcomes.iter().flatten().map(|c| c.seconds).collect()
    }
}

/// Pushes every sample in `sources` toward `goal`; `progress` hears (done, total).
pub async fn push_all(
    oracle: &mut Oracle,
    train: &Dataset,
    sources: &[usize],
    goal: Goal,
    config: &PushConfig,
    seed: u64,
    mut progress: impl FnMut(usize, usize),
) -> Result<Pushed> {
    config.validate()?;
    let mut outcomes = Vec::with_capacity(sources.len());
    for (k, &s) in sources.iter().enumerate() {
        outcomes.push(push_source(oracle, train, s, goal, config, seed).await?);
        progress(k + 1, sources.len());
        crate::host::yield_now().await;
    }
    Ok(Pushed { outcomes })
}

/// Pushes training sample `source` toward `goal`, with a seed of its own drawn from `seed`.
pub(crate) async fn push_source(
    oracle: &mut Oracle,
    train: &Dataset,
    source: usize,
    goal: Goal,
    config: &PushConfig,
    seed: u64,
) -> Result<std::result::Result<Crossing, Failure>> {
    let sample_seed = seed ^ (source as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    search::push(
        oracle,
        train.image(source),
        train.labels[source],
        goal,
        config,
        sample_seed,
    )
    .await
}

/// Which side of the boundary to submit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// Pushing-I: the last image still classified as the true label.
    Inside,
    /// Pushing-II: the first image classified otherwise.
    Outside,
}

/// The Pushing-I or Pushing-II request from pushed samples; a sample that could not be pushed
/// is submitted as it is.
pub async fn pushing(
    oracle: &mut Oracle,
    train: &Dataset,
    sources: &[usize],
    pushed: &Pushed,
    side: Side,
    choice: SubmittedLabel,
    class_b: u16,
) -> Result<Request> {
    let images: Vec<Vec<u8>> = sources
        .iter()
        .zip(&pushed.outcomes)
        .map(|(&s, outcome)| match (outcome, side) {
            (Ok(c), Side::Inside) => c.inside.clone(),
            (Ok(c), Side::Outside) => c.outside.clone(),
            (Err(_), _) => train.image(s).to_vec(),
        })
        .collect();
    let labels = labels(oracle, train, sources, &images, choice, class_b).await?;
    Ok(Request::new(train, sources, images, labels))
}
