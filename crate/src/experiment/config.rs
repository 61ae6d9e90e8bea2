//! What an experiment is: the requests to compare (normal and each [`Attack`]), their sizes and
//! labels, the service's method and the search, with the built-in scenarios.

use serde::{Deserialize, Serialize};

use crate::attack::request::SubmittedLabel;
use crate::attack::search::{PushConfig, WalkConfig};
use crate::data::SubsetSpec;
use crate::error::{Error, Result};
use crate::model::Preset;
use crate::train::TrainConfig;
use crate::training_run::RunConfig;
use crate::unlearn::Method;
use crate::unlearn::first_order::{self, Tau};

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
    /// The first image across the boundary (`pushing_i_i`, serde's own spelling, is read too).
    #[serde(rename = "pushing_ii", alias = "pushing_i_i")]
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
    /// A model the lab ships (its name in `models/`) that this experiment attacks instead of
    /// training one; `run` is then that model's run (the test subset and backend may differ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
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
            model: None,
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

    /// One line on what the experiment compares, e.g. `cifar10, model paper-cifar10-b123:
    /// forget 10% of airplane; normal vs Pushing-I; first-order (...)`.
    pub fn summary(&self) -> String {
        let model = match &self.model {
            Some(name) => format!("model {name}"),
            None => format!("{} preset", self.run.preset.name()),
        };
        let percentages: Vec<String> = self.percentages.iter().map(|p| format!("{p}%")).collect();
        let attacks: Vec<String> = self
            .attacks
            .iter()
            .filter(|a| **a != Attack::Normal)
            .map(Attack::name)
            .collect();
        format!(
            "{}, {model}: forget {} of {}; normal vs {}; {}",
            self.run.dataset.name(),
            percentages.join(" and "),
            self.class_a,
            attacks.join(", "),
            self.method.describe()
        )
    }

    /// Checks every value before any work starts (the run, the classes, the percentages, the
    /// attacks' parameters, the method and the search).
    pub fn validate(&self) -> Result<()> {
        self.run.validate()?;
        if let Some(name) = &self.model
            && !crate::pretrained::is_name(name)
        {
            return Err(Error::config(
                "model",
                format!(
                    "{name:?} is not a shipped model's name (letters, digits, '-', '_' and '.', \
                     without a folder or the .bin extension)"
                ),
            ));
        }
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
        self.method.validate()?;
        self.push.validate()
    }

    /// The key of the [`Crossings`] this experiment's crafting can reuse: a SHA-256 (hex) of
    /// the attacked model file's SHA-256, the training images the run draws (dataset, batches,
    /// subset, seed), class B (the targeted goal), the search settings and the crate version.
    /// Request sizes, the test subset, the backend and the unlearning method are not in it:
    /// the crossings are per training sample, so the CLI and the page share them.
    pub fn crossings_key(&self, model_sha256: &str) -> String {
        let run = &self.run;
        let settings = serde_json::to_vec(&(
            model_sha256,
            (run.dataset, &run.batches, &run.train_subset, run.seed),
            &self.class_b,
            &self.push,
            crate::VERSION,
        ))
        .expect("configs serialise");
        crate::pretrained::sha256_hex(&settings)
    }

    /// Whether `other` builds the same requests (everything but the unlearning method agrees).
    pub fn same_requests(&self, other: &Self) -> bool {
        Self {
            method: other.method.clone(),
            ..self.clone()
        } == *other
    }
}
