//! What an experiment is: the requests to compare (normal and each [`Attack`]), their sizes and
//! labels, the service's method and the search, with the built-in scenarios.

use serde::{Deserialize, Serialize};

use crate::attack::crossings::Part;
use crate::attack::request::SubmittedLabel;
use crate::attack::search::{PushConfig, WalkConfig};
use crate::data::SubsetSpec;
use crate::error::{Error, Result, check_number};
use crate::model::Preset;
use crate::train::TrainConfig;
use crate::training_run::RunConfig;
use crate::unlearn::Method;
use crate::unlearn::defence::Defence;
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
    /// Whether it pushes samples across the boundary, and if so toward class B (`Some(true)`)
    /// or any class (`Some(false)`).
    pub fn pushing(&self) -> Option<bool> {
        match self {
            Self::PushingI { targeted } | Self::PushingII { targeted } => Some(*targeted),
            Self::Normal | Self::Blending { .. } => None,
        }
    }

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
    /// The targeted-pushing class (and the blending class unless `blend_class` names another).
    pub class_b: String,
    /// The class blended into class A's images when it is not class B (the paper blends orange
    /// into apples but pushes them toward sweet pepper on CIFAR-100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blend_class: Option<String>,
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
    /// The service's defences, in the order they run (none: the undefended service).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub defences: Vec<Defence>,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            run: RunConfig::default(),
            model: None,
            class_a: "airplane".into(),
            class_b: "cat".into(),
            blend_class: None,
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
            defences: Vec::new(),
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

    /// The class blended into class A's images: `blend_class`, else class B.
    pub fn blend(&self) -> &str {
        self.blend_class.as_deref().unwrap_or(&self.class_b)
    }

    /// The config's class names with their fields: class A first, then B and the blending
    /// class when it is given.
    pub fn class_fields(&self) -> impl Iterator<Item = (&'static str, &String)> {
        [("class_a", &self.class_a), ("class_b", &self.class_b)]
            .into_iter()
            .chain(self.blend_class.iter().map(|b| ("blend_class", b)))
    }

    /// One line on what the experiment compares, e.g. `cifar10, model paper-cifar10-b123:
    /// forget 10% of airplane; normal vs Pushing-I; first-order (...)`.
    pub fn summary(&self) -> String {
        let model = match &self.model {
            Some(name) => format!("model {name}"),
            None => self.run.architecture_name(),
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
        self.run.validate().map_err(|e| e.within("run"))?;
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
        for (field, name) in self.class_fields() {
            if name.trim().is_empty() {
                return Err(Error::config(
                    field,
                    "is empty: name a class of the dataset (e.g. airplane) or give its index",
                ));
            }
        }
        for (field, name) in self.class_fields().skip(1) {
            if *name == self.class_a {
                return Err(Error::config(
                    field,
                    format!("{name:?} is class A too: pick another class"),
                ));
            }
        }
        list_length("percentages", self.percentages.len(), 1, Self::MAX_SIZES)?;
        for &p in &self.percentages {
            check_number("percentages", p, 0.0, 100.0, true)?;
        }
        list_length("attacks", self.attacks.len(), 0, Self::MAX_ATTACKS)?;
        for attack in &self.attacks {
            if let Attack::Blending { ratio } = attack {
                check_number("attacks.ratio", *ratio, 0.0, 1.0, false)?;
            }
        }
        let malicious = self.attacks.iter().any(|a| *a != Attack::Normal);
        if malicious && self.labels.is_empty() {
            return Err(Error::config(
                "labels",
                "is empty: give at least one submitted label (original, prediction or class_b)",
            ));
        }
        list_length("labels", self.labels.len(), 0, 3)?;
        list_length("also_taus", self.also_taus.len(), 0, Self::MAX_SIZES)?;
        for &t in &self.also_taus {
            check_number("also_taus", t, 0.0, 1e3, true)?;
        }
        self.method.validate().map_err(|e| e.within("method"))?;
        list_length("defences", self.defences.len(), 0, Self::MAX_DEFENCES)?;
        for defence in &self.defences {
            defence.validate().map_err(|e| e.within("defences"))?;
        }
        self.push.validate().map_err(|e| e.within("push"))
    }

    /// The most defences a config may list.
    pub const MAX_DEFENCES: usize = 8;

    /// The most request sizes (and further taus) an experiment may list.
    pub const MAX_SIZES: usize = 8;
    /// The most attacks an experiment may list.
    pub const MAX_ATTACKS: usize = 16;

    /// Reads an experiment config from JSON text (a file, a link) and checks it whole: a value
    /// of the wrong kind is named by its path in the config (e.g. `run.seed`), in plain words.
    pub fn from_json(text: &str) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let config: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "config".to_string()
            } else {
                path
            };
            Error::config(field, plain_serde(&e.into_inner()))
        })?;
        config.validate()?;
        Ok(config)
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

    /// The shipped crossings it can use ([`crate::attack::crossings::parts_needed`]): per goal
    /// side its attacks push, its largest request.
    pub fn wanted_parts(&self) -> Vec<Part> {
        let largest = self.percentages.iter().copied().fold(0.0, f64::max);
        let mut sides: Vec<bool> = self.attacks.iter().filter_map(Attack::pushing).collect();
        sides.sort_unstable();
        sides.dedup();
        sides
            .into_iter()
            .map(|targeted| Part {
                targeted,
                percent: largest,
            })
            .collect()
    }

    /// Whether `other` builds the same requests (everything but the service, its unlearning
    /// method and its defences, agrees).
    pub fn same_requests(&self, other: &Self) -> bool {
        Self {
            method: other.method.clone(),
            defences: other.defences.clone(),
            ..self.clone()
        } == *other
    }
}

/// Checks that the list `field` holds `min..=max` entries.
fn list_length(field: &str, count: usize, min: usize, max: usize) -> Result<()> {
    if (min..=max).contains(&count) {
        return Ok(());
    }
    Err(Error::config(
        field,
        format!("lists {count}: give from {min} to {max}"),
    ))
}

/// A serde_json error in words a student can act on: without the line and column (the path
/// names the field), "X is not allowed: expected Y" with Rust's type names spelled out.
fn plain_serde(e: &serde_json::Error) -> String {
    if e.is_syntax() || e.is_eof() {
        return format!("not JSON ({e})");
    }
    let full = e.to_string();
    let text = full
        .split(" at line ")
        .next()
        .unwrap_or(&full)
        .replace('`', "");
    let Some(rest) = text
        .strip_prefix("invalid value: ")
        .or_else(|| text.strip_prefix("invalid type: "))
    else {
        return text;
    };
    let (value, expected) = rest
        .split_once(", expected ")
        .unwrap_or((rest, "another value"));
    let value = ["integer ", "floating point ", "string "]
        .iter()
        .fold(value, |v, kind| v.strip_prefix(kind).unwrap_or(v));
    let expected = match expected {
        "u64" | "usize" | "u32" | "u16" | "u8" => "a whole number, 0 or more",
        "f64" | "f32" => "a number",
        "a sequence" => "a list in brackets",
        "a string" => "text in quotes",
        "a boolean" => "true or false",
        other if other.starts_with("struct ") => "an object in braces",
        other => other,
    };
    format!("{value} is not allowed: expected {expected}")
}
