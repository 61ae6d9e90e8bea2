//! The malicious user's part: every request an experiment compares, built against the model.
//! Pushed samples are kept in a [`Crossings`] store, so each sample is pushed once per goal
//! whichever requests hold it, and a stopped run goes on where it was.

use serde::{Deserialize, Serialize};

use super::{Attack, Event, ExperimentConfig, classes, stage};
use crate::attack::crossings::{Crossings, Part};
use crate::attack::gallery;
use crate::attack::oracle::Oracle;
use crate::attack::request::{self, Pushed, Side, SubmittedLabel};
use crate::attack::search::Goal;
use crate::data::Dataset;
use crate::error::Result;
use crate::metrics::stats::mean;
use crate::model::Trained;
use crate::training_run::RunData;
use crate::unlearn::Request;
use crate::unlearn::request::forget_set;

/// How the samples of a crafted request were made: per sample, the queries and seconds spent,
/// `None` where no crossing was found (the sample was submitted as it was).
#[derive(Debug, Clone, Default)]
struct Crafting {
    queries: Vec<Option<u64>>,
    seconds: Vec<Option<f64>>,
}

impl Crafting {
    fn of(pushed: &Pushed) -> Self {
        let found = || pushed.outcomes.iter().map(|o| o.as_ref().ok());
        Self {
            queries: found().map(|c| c.map(|c| c.queries)).collect(),
            seconds: found().map(|c| c.map(|c| c.seconds)).collect(),
        }
    }
}

/// A request built for the service and not yet applied to the model.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Request size in percent of class A.
    pub percent: f64,
    /// The request kind.
    pub attack: Attack,
    /// The submitted-label choice.
    pub label: SubmittedLabel,
    /// The images, labels and sources.
    pub request: Request,
    crafting: Option<Crafting>,
}

/// Summary figures of a prepared request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RequestStats {
    /// Images submitted.
    pub size: usize,
    /// Samples actually crafted (the rest were submitted as they were).
    pub crafted: usize,
    /// Mean l2 distance of the submitted images to their originals.
    pub mean_l2: f64,
    /// Mean l-infinity distance.
    pub mean_linf: f64,
    /// Mean SSIM.
    pub mean_ssim: f64,
    /// Mean queries per crafted sample.
    pub mean_queries: f64,
    /// Mean seconds per crafted sample.
    pub mean_seconds: f64,
}

impl Prepared {
    /// Its display title, e.g. `Pushing-I (targeted) 50% (original)`.
    pub fn title(&self) -> String {
        let label = match self.attack {
            Attack::Normal => String::new(),
            _ => format!(" ({})", self.label.name()),
        };
        format!("{} {}%{label}", self.attack.name(), self.percent)
    }

    /// Its size, stealth and crafting cost.
    pub fn stats(&self) -> RequestStats {
        let stealth = &self.request.stealth;
        let c = self.crafting.clone().unwrap_or_default();
        RequestStats {
            size: stealth.len(),
            crafted: c.queries.iter().flatten().count(),
            mean_l2: mean(stealth.iter().map(|s| s.l2)),
            mean_linf: mean(stealth.iter().map(|s| s.linf)),
            mean_ssim: mean(stealth.iter().map(|s| s.ssim)),
            mean_queries: mean(c.queries.iter().flatten().map(|&q| q as f64)),
            mean_seconds: mean(c.seconds.iter().flatten().copied()),
        }
    }

    /// Its first `count` samples beside their originals, with the model's predictions.
    pub async fn gallery(
        &self,
        model: &Trained,
        train: &Dataset,
        count: usize,
    ) -> Result<Vec<gallery::Sample>> {
        let queries = self
            .crafting
            .as_ref()
            .map(|c| c.queries.clone())
            .unwrap_or_default();
        gallery::samples(&model.model, train, &self.request, &queries, count).await
    }
}

/// The requests of an experiment, built and waiting for the service.
#[derive(Debug, Clone)]
pub struct Crafted {
    /// Normal first, then each attack and label, for every percentage.
    pub requests: Vec<Prepared>,
    /// Seconds spent building them.
    pub seconds: f64,
}

/// Samples pushed between two checkpoints of [`craft_with`].
const CHECKPOINT_EVERY: usize = 32;

/// Builds the normal request and every malicious one that `config` asks for, at every
/// percentage, against `model` (trained on `data.train`).
pub async fn craft(
    config: &ExperimentConfig,
    data: &RunData,
    model: &Trained,
    event: &mut impl FnMut(Event),
) -> Result<Crafted> {
    let mut crossings = Crossings::default();
    craft_with(config, data, model, &mut crossings, |_| Ok(()), event).await
}

/// [`craft`], pushing only the samples `crossings` does not hold yet and adding them to it;
/// `checkpoint` hears the store every few samples, to keep it.
pub async fn craft_with(
    config: &ExperimentConfig,
    data: &RunData,
    model: &Trained,
    crossings: &mut Crossings,
    checkpoint: impl FnMut(&Crossings) -> Result<()>,
    event: &mut impl FnMut(Event),
) -> Result<Crafted> {
    craft_draw(config, data, model, crossings, 0, checkpoint, event).await
}

/// The seed that draws the samples of request draw `draw` (draw 0 is the experiment's own).
pub fn draw_seed(seed: u64, draw: u64) -> u64 {
    seed ^ draw.wrapping_mul(0xd1b5_4a32_d192_ed03)
}

/// [`craft_with`] for the `draw`-th seeded set of requests (other samples of class A for each
/// draw; draw 0 is [`craft_with`]'s): the defences are measured over many such draws.
pub async fn craft_draw(
    config: &ExperimentConfig,
    data: &RunData,
    model: &Trained,
    crossings: &mut Crossings,
    draw: u64,
    checkpoint: impl FnMut(&Crossings) -> Result<()>,
    event: &mut impl FnMut(Event),
) -> Result<Crafted> {
    let start = web_time::Instant::now();
    let train = &data.train;
    let (class_a, class_b) = classes(config, train)?;
    let mut crafter = Crafter {
        config,
        train,
        class_b,
        blend: train.class_index(config.blend())? as u16,
        oracle: Oracle::new(&model.model, train.shape, train.num_classes()),
        crossings,
        checkpoint,
        event,
    };
    let mut requests = Vec::new();
    for &percent in &config.percentages {
        let seed = draw_seed(config.run.seed, draw);
        let sources = forget_set(train, class_a, percent / 100.0, seed)?;
        let normal = request::normal(
            &mut crafter.oracle,
            train,
            &sources,
            SubmittedLabel::Original,
            class_b,
        )
        .await?;
        requests.push(Prepared {
            percent,
            attack: Attack::Normal,
            label: SubmittedLabel::Original,
            request: normal,
            crafting: None,
        });
        for attack in config.attacks.iter().filter(|a| **a != Attack::Normal) {
            for &label in &config.labels {
                let (request, crafting) = crafter.build(percent, &sources, attack, label).await?;
                requests.push(Prepared {
                    percent,
                    attack: attack.clone(),
                    label,
                    request,
                    crafting,
                });
            }
        }
    }
    Ok(Crafted {
        requests,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// What building one request needs: the experiment, the oracle, and the crossings found so far.
struct Crafter<'a, K, E> {
    config: &'a ExperimentConfig,
    train: &'a Dataset,
    class_b: u16,
    blend: u16,
    oracle: Oracle,
    crossings: &'a mut Crossings,
    checkpoint: K,
    event: &'a mut E,
}

impl<K, E> Crafter<'_, K, E>
where
    K: FnMut(&Crossings) -> Result<()>,
    E: FnMut(Event),
{
    /// The `attack` request (not normal) for `sources` with `label` submitted.
    async fn build(
        &mut self,
        percent: f64,
        sources: &[usize],
        attack: &Attack,
        label: SubmittedLabel,
    ) -> Result<(Request, Option<Crafting>)> {
        let (train, class_b, seed) = (self.train, self.class_b, self.config.run.seed);
        match attack {
            Attack::Normal => unreachable!("the normal request is built once per percentage"),
            Attack::Blending { ratio } => {
                let r = request::blending(
                    &mut self.oracle,
                    train,
                    sources,
                    self.blend,
                    *ratio,
                    label,
                    seed,
                )
                .await?;
                Ok((r, None))
            }
            Attack::PushingI { targeted } | Attack::PushingII { targeted } => {
                let pushed = self.pushed(percent, sources, *targeted).await?;
                let side = match attack {
                    Attack::PushingI { .. } => Side::Inside,
                    _ => Side::Outside,
                };
                let r = request::pushing(
                    &mut self.oracle,
                    train,
                    sources,
                    &pushed,
                    side,
                    label,
                    class_b,
                )
                .await?;
                Ok((r, Some(Crafting::of(&pushed))))
            }
        }
    }

    /// Every sample of `sources` pushed toward the goal, pushing those not in the store yet.
    async fn pushed(&mut self, percent: f64, sources: &[usize], targeted: bool) -> Result<Pushed> {
        let goal = if targeted {
            Goal::Targeted(self.class_b)
        } else {
            Goal::Untargeted
        };
        let name = format!(
            "pushing {percent}%{}",
            if targeted { " (targeted)" } else { "" }
        );
        let missing: Vec<usize> = sources
            .iter()
            .copied()
            .filter(|&s| self.crossings.get(goal, s).is_none())
            .collect();
        for (k, chunk) in missing.chunks(CHECKPOINT_EVERY).enumerate() {
            let done = k * CHECKPOINT_EVERY;
            let event = &mut *self.event;
            let fresh = request::push_all(
                &mut self.oracle,
                self.train,
                chunk,
                goal,
                &self.config.push,
                self.config.run.seed,
                |d, _| stage(event, &name, done + d, missing.len()),
            )
            .await?;
            for (&s, outcome) in chunk.iter().zip(fresh.outcomes) {
                self.crossings.insert(goal, s, outcome);
            }
            (self.checkpoint)(self.crossings)?;
        }
        Ok(Pushed {
            outcomes: sources
                .iter()
                .map(|&s| self.crossings.get(goal, s).expect("pushed").clone())
                .collect(),
        })
    }
}

/// A crafted request as a host shows it: its kind, label, figures and a few samples.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestView {
    /// Request size in percent of class A.
    pub percent: f64,
    /// The request kind.
    pub attack: Attack,
    /// The kind's display name.
    pub name: String,
    /// The submitted-label choice.
    pub label: SubmittedLabel,
    /// Size, stealth and crafting cost.
    pub stats: RequestStats,
    /// The first few samples beside their originals.
    pub samples: Vec<gallery::Sample>,
}

/// The crafted requests as a host shows them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CraftedView {
    /// One per request, in the order they are unlearned.
    pub requests: Vec<RequestView>,
    /// Seconds spent crafting.
    pub seconds: f64,
    /// Class names, for the samples' labels.
    pub class_names: Vec<String>,
    /// The images' shape, to draw the samples.
    pub shape: crate::data::ImageShape,
}

impl Crafted {
    /// The samples its pushing requests hold, in shipped [`Part`]s: per goal side and request
    /// size (smallest first), the samples that size adds to the smaller ones, as (targeted,
    /// training sample) for [`Crossings::subset`].
    pub fn parts(&self) -> Vec<(Part, Vec<(bool, usize)>)> {
        let mut sized: Vec<(Part, &[usize])> = self
            .requests
            .iter()
            .filter_map(|p| {
                let targeted = p.attack.pushing()?;
                let part = Part {
                    targeted,
                    percent: p.percent,
                };
                Some((part, &p.request.sources[..]))
            })
            .collect();
        sized.sort_by(|(a, _), (b, _)| {
            (a.targeted, a.percent)
                .partial_cmp(&(b.targeted, b.percent))
                .expect("finite")
        });
        let mut parts: Vec<(Part, Vec<(bool, usize)>)> = Vec::new();
        let mut held = std::collections::BTreeSet::new();
        for (part, sources) in sized {
            let new: Vec<(bool, usize)> = sources
                .iter()
                .map(|&s| (part.targeted, s))
                .filter(|sample| held.insert(*sample))
                .collect();
            match parts.last_mut() {
                Some((last, samples)) if *last == part => samples.extend(new),
                _ => parts.push((part, new)),
            }
        }
        parts
    }

    /// The requests with `samples` gallery samples each, as `model` (trained on `train`) sees
    /// them.
    pub async fn view(
        &self,
        model: &Trained,
        train: &Dataset,
        samples: usize,
    ) -> Result<CraftedView> {
        let mut requests = Vec::with_capacity(self.requests.len());
        for prepared in &self.requests {
            requests.push(RequestView {
                percent: prepared.percent,
                attack: prepared.attack.clone(),
                name: prepared.attack.name(),
                label: prepared.label,
                stats: prepared.stats(),
                samples: prepared.gallery(model, train, samples).await?,
            });
        }
        Ok(CraftedView {
            requests,
            seconds: self.seconds,
            class_names: train.class_names.clone(),
            shape: train.shape,
        })
    }
}
