//! The boundary searches side by side on the same samples: how often each pushes a sample across,
//! with how many queries, how far from the original, and in how much time.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use web_time::Instant;

use super::oracle::Oracle;
use super::search::{Goal, PushConfig};
use crate::data::{Dataset, ImageShape};
use crate::error::{Error, Result};
use crate::metrics::{argmax, stealth::Stealth};
use crate::model::input;
use crate::rng;

/// One search's results on the compared samples.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchSummary {
    /// The search's name in tables.
    pub name: String,
    /// Its settings.
    pub config: PushConfig,
    /// Samples attempted.
    pub attempted: usize,
    /// Samples pushed across (a valid Pushing-I/II pair).
    pub successes: usize,
    /// Queries per attempted sample (a failure counts what it spent).
    pub mean_queries: f64,
    /// Queries per successful sample.
    pub mean_queries_success: f64,
    /// Mean l2 of the Pushing-I images from their originals ([0, 1] pixels), over successes.
    pub mean_l2: f64,
    /// Mean SSIM of the Pushing-I images, over successes.
    pub mean_ssim: f64,
    /// Seconds per attempted sample.
    pub mean_seconds: f64,
    /// Failures by kind.
    pub failures: BTreeMap<String, usize>,
}

impl SearchSummary {
    /// Successes over attempts.
    pub fn success_rate(&self) -> f64 {
        self.successes as f64 / self.attempted.max(1) as f64
    }
}

/// The training indices of `count` seeded samples of `class` that the model classifies correctly
/// (the searches attack correct samples only).
pub async fn correct_samples(
    oracle: &mut Oracle,
    train: &Dataset,
    class: u16,
    count: usize,
    seed: u64,
) -> Result<Vec<usize>> {
    let mut members: Vec<usize> = (0..train.len())
        .filter(|&i| train.labels[i] == class)
        .collect();
    members.shuffle(&mut rng::stream(seed, "compare/samples"));
    let mut picked = Vec::with_capacity(count);
    for chunk in members.chunks(256) {
        let x: Vec<f32> = chunk
            .iter()
            .flat_map(|&i| train.image(i).iter().map(|&p| input::unit(p)))
            .collect();
        let p = oracle.query(&x).await?;
        for (&i, row) in chunk.iter().zip(p.chunks(oracle.classes())) {
            if picked.len() < count && argmax(row) == class {
                picked.push(i);
            }
        }
        if picked.len() == count {
            return Ok(picked);
        }
    }
    Err(Error::config(
        "samples",
        format!(
            "only {} training images of class {class} are classified correctly, not {count}",
            picked.len()
        ),
    ))
}

/// Pushes every sample of `sources` toward `goal` with each named search; `progress` hears
/// (search name, done, total).
pub async fn compare(
    oracle: &mut Oracle,
    train: &Dataset,
    sources: &[usize],
    goal: Goal,
    searches: &[(String, PushConfig)],
    seed: u64,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<Vec<SearchSummary>> {
    let mut out = Vec::with_capacity(searches.len());
    for (name, config) in searches {
        config.validate()?;
        let mut summary = SearchSummary {
            name: name.clone(),
            config: config.clone(),
            attempted: sources.len(),
            successes: 0,
            mean_queries: 0.0,
            mean_queries_success: 0.0,
            mean_l2: 0.0,
            mean_ssim: 0.0,
            mean_seconds: 0.0,
            failures: BTreeMap::new(),
        };
        let shape: ImageShape = train.shape;
        let (mut queries, mut seconds) = (0u64, 0.0f64);
        for (k, &s) in sources.iter().enumerate() {
            let before = oracle.queries();
            let start = Instant::now();
            let outcome = super::request::push_source(oracle, train, s, goal, config, seed).await?;
            queries += oracle.queries() - before;
            seconds += start.elapsed().as_secs_f64();
            match outcome {
                Ok(c) => {
                    let stealth = Stealth::measure(train.image(s), &c.inside, shape);
                    summary.successes += 1;
                    summary.mean_queries_success += c.queries as f64;
                    summary.mean_l2 += stealth.l2;
                    summary.mean_ssim += stealth.ssim;
                }
                Err(failure) => {
                    let key = serde_json::to_value(&failure)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_else(|| format!("{failure:?}"));
                    *summary.failures.entry(key).or_default() += 1;
                }
            }
            progress(name, k + 1, sources.len());
        }
        let n = sources.len().max(1) as f64;
        let ok = summary.successes.max(1) as f64;
        summary.mean_queries = queries as f64 / n;
        summary.mean_seconds = seconds / n;
        summary.mean_queries_success /= ok;
        summary.mean_l2 /= ok;
        summary.mean_ssim /= ok;
        out.push(summary);
    }
    Ok(out)
}

/// The summaries as a markdown table.
pub fn markdown(summaries: &[SearchSummary]) -> String {
    let mut out = String::from(
        "| search | success | queries/sample | queries/success | mean l2 | mean SSIM | s/sample | failures |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for s in summaries {
        let failures: Vec<String> = s.failures.iter().map(|(k, v)| format!("{k} {v}")).collect();
        out += &format!(
            "| {} | {}/{} ({:.0}%) | {:.0} | {:.0} | {:.3} | {:.3} | {:.2} | {} |\n",
            s.name,
            s.successes,
            s.attempted,
            100.0 * s.success_rate(),
            s.mean_queries,
            s.mean_queries_success,
            s.mean_l2,
            s.mean_ssim,
            s.mean_seconds,
            if failures.is_empty() {
                "-".to_string()
            } else {
                failures.join(", ")
            }
        );
    }
    out
}
