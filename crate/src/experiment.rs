//! An over-unlearning experiment, end to end: train (or load) the service's model, build the
//! normal and malicious requests for class A, apply each to a copy of the same model with the
//! same unlearning method, evaluate, and report in the shape of the paper's Tables IV and V.

use serde::{Deserialize, Serialize};

use crate::attack::crossings::Crossings;
use crate::attack::gallery;
use crate::attack::oracle::Oracle;
use crate::attack::push::{Goal, PushConfig};
use crate::attack::request::{self, Pushed, Request, Side, SubmittedLabel};
use crate::attack::walk::WalkConfig;
use crate::data::{Dataset, SubsetSpec};
use crate::error::{Error, Result};
use crate::metrics::{self, Evaluation, Shift};
use crate::model::Preset;
use crate::model::Trained;
use crate::train::TrainConfig;
use crate::training_run::{RunConfig, RunData};
use crate::unlearn::first_order::{self, Tau};
use crate::unlearn::{Method, Service};

/// A malicious (or normal) request kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "attack", rename_all = "snake_case")]
pub enum Attack {
    /// The samples themselves, with their original labels.
    Normal,
    /// Blends with class-B images; `ratio` is the weight of the class-B image.
    Blending {
        /// Weight of the class-B image, in [0, 1].
        ratio: f64,
    },
    /// The last image on the true side of the boundary.
    PushingI {
        /// Toward class B rather than any class.
        targeted: bool,
    },
    /// The first image across the boundary.
    PushingII {
        /// Toward class B rather than any class.
        targeted: bool,
    },
}

impl Attack {
    /// A short name for tables.
    pub fn name(&self) -> String {
        match self {
            Self::Normal => "normal".into(),
            Self::Blending { ratio } => format!("blending r={ratio}"),
            Self::PushingI { targeted } => {
                format!("Pushing-I{}", if *targeted { " (targeted)" } else { "" })
            }
            Self::PushingII { targeted } => {
                format!("Pushing-II{}", if *targeted { " (targeted)" } else { "" })
            }
        }
    }
}

/// The experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Data, model and training (its seed seeds everything).
    pub run: RunConfig,
    /// The class whose samples are forgotten.
    pub class_a: String,
    /// The blending and targeted-pushing class.
    pub class_b: String,
    /// Request sizes, in percent of class A's training images.
    pub percentages: Vec<f64>,
    /// The requests to compare; normal is always included first.
    pub attacks: Vec<Attack>,
    /// Submitted-label choices to report for each malicious request.
    pub labels: Vec<SubmittedLabel>,
    /// The service's unlearning method.
    pub method: Method,
    /// How samples are pushed.
    pub push: PushConfig,
    /// Further fixed first-order step sizes: every request is also unlearned with each of them
    /// (the crafted requests are shared), to set the paper's tau beside the calibrated one.
    pub also_taus: Vec<f64>,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            run: RunConfig::default(),
            class_a: "airplane".into(),
            class_b: "cat".into(),
            percentages: vec![10.0, 50.0],
            attacks: vec![
                Attack::PushingI { targeted: false },
                Attack::PushingII { targeted: false },
                Attack::PushingI { targeted: true },
                Attack::PushingII { targeted: true },
            ],
            labels: vec![SubmittedLabel::Original],
            method: Method::default(),
            push: PushConfig::default(),
            also_taus: Vec::new(),
        }
    }
}

impl ExperimentConfig {
    /// The built-in experiments by name: `paper` (the defaults: CIFAR-10, `lab` preset, 10% and
    /// 50% of airplane, every pushing attack, the reference service at tau 2e-4, the original
    /// label submitted) and `tutorial` (a small balanced CIFAR-10 subset from `data_batch_1`,
    /// the `tutorial` preset, half of airplane's images, normal vs Pushing-I under the removal
    /// service: the whole flow in about two minutes on a laptop's CPU in a browser).
    pub fn scenario(name: &str) -> Result<Self> {
        match name {
            "paper" => Ok(Self::default()),
            "tutorial" => Ok(Self {
                run: RunConfig {
                    batches: vec![1],
                    train_subset: SubsetSpec {
                        classes: Vec::new(),
                        per_class: Some(250),
                        validation: 0.1,
                    },
                    test_per_class: Some(100),
                    preset: Preset::Tutorial,
                    train: TrainConfig {
                        epochs: 8,
                        ..TrainConfig::default()
                    },
                    ..RunConfig::default()
                },
                percentages: vec![50.0],
                attacks: vec![Attack::PushingI { targeted: false }],
                // Measured (README, "The tutorial's service"): its requests (113 images) are
                // under one gradient batch, so the reference service's noise term counts for
                // every sample and a normal request costs 16 points and *raises* airplane. The
                // plain removal at a tau fixed for this request size costs it about 2 points in
                // the browser; calibrating tau on the tutorial's 250 validation images was too
                // noisy (the browser's model calibrated to twice the native one's tau).
                method: Method::FirstOrder(first_order::FirstOrderConfig {
                    tau: Tau::Fixed(1.2e-4),
                    service: first_order::ServiceKind::Removal,
                    ..first_order::FirstOrderConfig::default()
                }),
                // A short boundary walk: most of its stealth for a fraction of its queries.
                push: PushConfig {
                    walk: WalkConfig {
                        iterations: 3,
                        ..WalkConfig::default()
                    },
                    ..PushConfig::default()
                },
                ..Self::default()
            }),
            other => Err(Error::config(
                "scenario",
                format!("unknown scenario {other:?} (expected paper or tutorial)"),
            )),
        }
    }

    /// Checks every value before any work starts (the run, the classes, the percentages, the
    /// attacks' parameters, the method and the search).
    pub fn validate(&self) -> Result<()> {
        self.run.validate()?;
        if self.class_a == self.class_b {
            return Err(Error::config("class_b", "must differ from class A"));
        }
        if self.percentages.is_empty() {
            return Err(Error::config("percentages", "give at least one"));
        }
        for &p in &self.percentages {
            if !(p > 0.0 && p <= 100.0) {
                return Err(Error::config(
                    "percentage",
                    format!("{p} is not in (0, 100]"),
                ));
            }
        }
        for attack in &self.attacks {
            if let Attack::Blending { ratio } = attack
                && !(0.0..=1.0).contains(ratio)
            {
                return Err(Error::config(
                    "ratio",
                    format!("blending ratio {ratio} is not in [0, 1]"),
                ));
            }
        }
        if let Some(t) = self
            .also_taus
            .iter()
            .find(|t| !(t.is_finite() && **t > 0.0))
        {
            return Err(Error::config(
                "also_taus",
                format!("{t} is not a finite positive number"),
            ));
        }
        match &self.method {
            Method::FirstOrder(fo) => fo.validate()?,
            Method::FineTune(sgd) | Method::GradientAscent(sgd) => sgd.validate()?,
            Method::Retrain => {}
        }
        self.push.validate()
    }

    /// The key of the [`Crossings`] this experiment's crafting can reuse: a SHA-256 (hex) of the
    /// attacked model's file bytes, the run (data, seed), class B (the targeted goal), the
    /// search settings and the crate version. Request sizes and the unlearning method are not
    /// in it: the crossings are per sample.
    pub fn crossings_key(&self, model_file: &[u8]) -> String {
        let settings = serde_json::to_vec(&(&self.run, &self.class_b, &self.push, crate::VERSION))
            .expect("configs serialise");
        crate::pretrained::sha256_hex(&[model_file, &settings].concat())
    }

    /// Whether `other` builds the same requests (everything but the unlearning method agrees).
    pub fn same_requests(&self, other: &Self) -> bool {
        Self {
            method: other.method.clone(),
            ..self.clone()
        } == *other
    }
}

/// How the samples of a crafted request were made: per sample, the queries and seconds spent,
/// `None` where no crossing was found (the sample was submitted as it was).
#[derive(Debug, Clone, Default)]
struct Crafting {
    queries: Vec<Option<u64>>,
    seconds: Vec<Option<f64>>,
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

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

impl Prepared {
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

/// One request's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// Request size in percent of class A.
    pub percent: f64,
    /// The first-order step size this row was unlearned with.
    pub tau: Option<f64>,
    /// The request kind.
    pub attack: Attack,
    /// The submitted-label choice.
    pub label: SubmittedLabel,
    /// The request's size, stealth and crafting cost (flattened into the row in JSON).
    #[serde(flatten)]
    pub stats: RequestStats,
    /// Overall test accuracy after unlearning.
    pub accuracy: f64,
    /// Class A's test accuracy after unlearning.
    pub accuracy_a: f64,
    /// Class B's test accuracy after unlearning.
    pub accuracy_b: f64,
    /// Per-class test accuracy after unlearning.
    pub per_class: Vec<f64>,
    /// Where class A's correctly classified test images went.
    pub shift: Shift,
    /// Test confusion matrix after unlearning.
    pub confusion: Vec<Vec<u32>>,
}

/// The experiment's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentReport {
    /// Crate version.
    pub version: String,
    /// The config (seed and backend included).
    pub config: ExperimentConfig,
    /// The backend's name.
    pub backend: String,
    /// Class names.
    pub class_names: Vec<String>,
    /// Test evaluation before unlearning.
    pub before: Evaluation,
    /// Train-set accuracy before unlearning.
    pub train_accuracy: f64,
    /// The first-order step size used (calibrated or fixed), if that is the method.
    pub tau: Option<f64>,
    /// The calibration, if tau was calibrated.
    pub calibration: Option<first_order::Calibration>,
    /// One row per request.
    pub rows: Vec<Row>,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// What the host hears while an experiment runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A named stage advanced: `done` of `total`.
    Stage {
        /// What is being done.
        name: String,
        /// Units done.
        done: usize,
        /// Units in all.
        total: usize,
    },
}

/// Validates `config` and finds its classes in `train`; returns classes A and B.
fn classes(config: &ExperimentConfig, train: &Dataset) -> Result<(u16, u16)> {
    config.validate()?;
    let class_a = train.class_index(&config.class_a)? as u16;
    let class_b = train.class_index(&config.class_b)? as u16;
    Ok((class_a, class_b))
}

/// Reports a stage's progress to `event`.
fn stage(event: &mut impl FnMut(Event), name: &str, done: usize, total: usize) {
    event(Event::Stage {
        name: name.to_string(),
        done,
        total,
    })
}

/// Samples pushed between two checkpoints of [`craft_with`].
const CHECKPOINT_EVERY: usize = 32;

/// The malicious user's part: builds the normal request and every malicious one that `config`
/// asks for, at every percentage, against `model` (trained on `data.train`).
pub async fn craft(
    config: &ExperimentConfig,
    data: &RunData,
    model: &Trained,
    event: &mut impl FnMut(Event),
) -> Result<Crafted> {
    let mut crossings = Crossings::default();
    craft_with(config, data, model, &mut crossings, |_| Ok(()), event).await
}

/// [`craft`], pushing only the samples `crossings` does not hold yet (so each sample is pushed
/// once per goal whichever requests hold it) and adding them to it; `checkpoint` hears the
/// store every few samples, to keep it.
pub async fn craft_with(
    config: &ExperimentConfig,
    data: &RunData,
    model: &Trained,
    crossings: &mut Crossings,
    mut checkpoint: impl FnMut(&Crossings) -> Result<()>,
    event: &mut impl FnMut(Event),
) -> Result<Crafted> {
    let start = web_time::Instant::now();
    let train = &data.train;
    let (class_a, class_b) = classes(config, train)?;
    let seed = config.run.seed;
    let mut oracle = Oracle::new(&model.model, train.shape, train.num_classes());
    let mut requests = Vec::new();
    for &percent in &config.percentages {
        let sources = request::forget_set(train, class_a, percent / 100.0, seed)?;
        let mut pushed: [Option<Pushed>; 2] = [None, None];
        let normal = request::normal(
            &mut oracle,
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
        for attack in &config.attacks {
            for &label in &config.labels {
                let (request, crafting) = match attack {
                    Attack::Normal => continue,
                    Attack::Blending { ratio } => (
                        request::blending(
                            &mut oracle,
                            train,
                            &sources,
                            class_b,
                            *ratio,
                            label,
                            seed,
                        )
                        .await?,
                        None,
                    ),
                    Attack::PushingI { targeted } | Attack::PushingII { targeted } => {
                        let slot = usize::from(*targeted);
                        if pushed[slot].is_none() {
                            let goal = if *targeted {
                                Goal::Targeted(class_b)
                            } else {
                                Goal::Untargeted
                            };
                            let name = format!(
                                "pushing {}% {}",
                                percent,
                                if *targeted { "(targeted)" } else { "" }
                            );
                            let missing: Vec<usize> = sources
                                .iter()
                                .copied()
                                .filter(|&s| crossings.get(goal, s).is_none())
                                .collect();
                            for (k, chunk) in missing.chunks(CHECKPOINT_EVERY).enumerate() {
                                let done = k * CHECKPOINT_EVERY;
                                let fresh = request::push_all(
                                    &mut oracle,
                                    train,
                                    chunk,
                                    goal,
                                    &config.push,
                                    seed,
                                    |d, _| stage(event, &name, done + d, missing.len()),
                                )
                                .await?;
                                for (&s, outcome) in chunk.iter().zip(fresh.outcomes) {
                                    crossings.insert(goal, s, outcome);
                                }
                                checkpoint(crossings)?;
                            }
                            pushed[slot] = Some(Pushed {
                                outcomes: sources
                                    .iter()
                                    .map(|&s| crossings.get(goal, s).expect("pushed").clone())
                                    .collect(),
                            });
                        }
                        let p = pushed[slot].as_ref().expect("pushed above");
                        let side = if matches!(attack, Attack::PushingI { .. }) {
                            Side::Inside
                        } else {
                            Side::Outside
                        };
                        let r =
                            request::pushing(&mut oracle, train, &sources, p, side, label, class_b)
                                .await?;
                        let crafting = Crafting {
                            queries: p
                                .outcomes
                                .iter()
                                .map(|o| o.as_ref().ok().map(|c| c.queries))
                                .collect(),
                            seconds: p
                                .outcomes
                                .iter()
                                .map(|o| o.as_ref().ok().map(|c| c.seconds))
                                .collect(),
                        };
                        (r, Some(crafting))
                    }
                };
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

/// The service's part: fixes (or calibrates) its step size, applies every crafted request to a
/// copy of `model` and evaluates each outcome on the test split.
pub async fn unlearn(
    config: &ExperimentConfig,
    data: &RunData,
    model: &Trained,
    crafted: &Crafted,
    event: &mut impl FnMut(Event),
) -> Result<ExperimentReport> {
    let start = web_time::Instant::now();
    let train = &data.train;
    let (class_a, class_b) = classes(config, train)?;
    let device = model.model.device();
    let seed = config.run.seed;
    let before = metrics::evaluate(&model.model, &data.test, &device).await?;
    let train_accuracy = metrics::evaluate(&model.model, train, &device)
        .await?
        .accuracy;

    let (tau, calibration) = match &config.method {
        Method::FirstOrder(fo) => match fo.tau {
            Tau::Fixed(t) => (Some(t), None),
            Tau::Calibrated {
                request_fraction,
                budget,
            } => {
                stage(event, "calibrating tau", 0, 1);
                let probe_sources =
                    request::forget_set(train, class_a, request_fraction, seed ^ 0xca1)?;
                let probe = train.select(&probe_sources);
                let c = first_order::calibrate(
                    &model.model,
                    &probe,
                    &data.validation,
                    fo,
                    budget,
                    seed,
                )
                .await?;
                stage(event, "calibrating tau", 1, 1);
                (Some(c.tau), Some(c))
            }
        },
        _ => (None, None),
    };

    let taus: Vec<Option<f64>> = match tau {
        Some(t) => std::iter::once(t)
            .chain(config.also_taus.iter().copied())
            .map(Some)
            .collect(),
        None => vec![None],
    };
    let mut rows = Vec::new();
    let total = crafted.requests.len() * taus.len();
    // Identical requests (Pushing-I submitted with its prediction is its original label) are
    // unlearned once per tau.
    let mut done: Vec<(Option<f64>, &Dataset, Evaluation)> = Vec::new();
    for (k, (&tau, prepared)) in taus
        .iter()
        .flat_map(|t| std::iter::repeat(t).zip(&crafted.requests))
        .enumerate()
    {
        stage(event, "unlearning", k, total);
        let submitted = &prepared.request.submitted;
        let same = |(t, d, _): &&(Option<f64>, &Dataset, Evaluation)| {
            *t == tau && d.labels == submitted.labels && d.images == submitted.images
        };
        let after = match done.iter().find(same) {
            Some((_, _, after)) => after.clone(),
            None => {
                let service = Service {
                    train,
                    validation: &data.validation,
                    training: &config.run.train,
                    seed,
                };
                let unlearned = config
                    .method
                    .apply(model, &prepared.request, service, tau.unwrap_or(0.0))
                    .await?;
                let after = metrics::evaluate(&unlearned, &data.test, &device).await?;
                done.push((tau, submitted, after.clone()));
                after
            }
        };
        rows.push(Row {
            percent: prepared.percent,
            tau,
            attack: prepared.attack.clone(),
            label: prepared.label,
            stats: prepared.stats(),
            accuracy: after.accuracy,
            accuracy_a: after.per_class[class_a as usize],
            accuracy_b: after.per_class[class_b as usize],
            per_class: after.per_class.clone(),
            shift: Shift::between(
                &data.test.labels,
                &before.predictions,
                &after.predictions,
                class_a,
                class_b,
            ),
            confusion: after.confusion,
        });
        crate::host::yield_now().await;
    }
    stage(event, "unlearning", total, total);
    Ok(ExperimentReport {
        version: crate::VERSION.to_string(),
        config: config.clone(),
        backend: config.run.backend.name().to_string(),
        class_names: train.class_names.clone(),
        before,
        train_accuracy,
        tau,
        calibration,
        rows,
        seconds: crafted.seconds + start.elapsed().as_secs_f64(),
    })
}

/// Runs the whole experiment on `model`, trained on `data.train`: [`craft`], then [`unlearn`].
pub async fn run(
    config: &ExperimentConfig,
    data: &RunData,
    model: &Trained,
    mut event: impl FnMut(Event),
) -> Result<ExperimentReport> {
    let crafted = craft(config, data, model, &mut event).await?;
    unlearn(config, data, model, &crafted, &mut event).await
}

impl ExperimentReport {
    /// The report as markdown tables shaped like the paper's Tables IV and V.
    pub fn markdown(&self) -> String {
        let c = &self.config;
        let a = self
            .class_names
            .iter()
            .position(|n| *n == c.class_a)
            .unwrap_or(0);
        let pct = |v: f64| format!("{:.1}", v * 100.0);
        let mut out = format!(
            "Before unlearning: train {}%, test {}%, {} test {}%. Method: {}{}.\n\n",
            pct(self.train_accuracy),
            pct(self.before.accuracy),
            c.class_a,
            pct(self.before.per_class[a]),
            c.method.describe(),
            match (&self.calibration, self.tau) {
                (Some(cal), Some(t)) => format!(
                    ", tau calibrated to {t:.3e} (validation {} -> {}%)",
                    pct(cal.accuracy_before),
                    pct(cal.accuracy_after)
                ),
                (None, Some(t)) => format!(", tau {t:.3e}"),
                _ => String::new(),
            }
        );
        let tau = |r: &Row| r.tau.map_or("-".to_string(), |t| format!("{t:.2e}"));
        out += &format!(
            "| request | tau | attack | label | crafted | overall % | {} % | {} % | mean SSIM | mean l2 | queries/sample |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
            c.class_a, c.class_b
        );
        for r in &self.rows {
            out += &format!(
                "| {} ({}%) | {} | {} | {:?} | {} | {} | {} | {} | {:.3} | {:.3} | {:.0} |\n",
                r.stats.size,
                r.percent,
                tau(r),
                r.attack.name(),
                r.label,
                r.stats.crafted,
                pct(r.accuracy),
                pct(r.accuracy_a),
                pct(r.accuracy_b),
                r.stats.mean_ssim,
                r.stats.mean_l2,
                r.stats.mean_queries
            );
        }
        let correct = self.rows.first().map_or(0, |r| r.shift.correct_before);
        out += &format!(
            "\nWhere the {correct} {} test images classified correctly before unlearning went (Table V):\n\n\
             | request | tau | attack | label | {} kept | moved to {} | moved elsewhere |\n|---|---|---|---|---|---|---|\n",
            c.class_a, c.class_a, c.class_b
        );
        for r in &self.rows {
            out += &format!(
                "| {} | {} | {} | {:?} | {} | {} | {} |\n",
                r.stats.size,
                tau(r),
                r.attack.name(),
                r.label,
                r.shift.kept,
                r.shift.to_b,
                r.shift.elsewhere
            );
        }
        out
    }
}
