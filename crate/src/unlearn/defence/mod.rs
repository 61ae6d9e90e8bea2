//! The service's defences against malicious requests, each a named, parameterised check:
//!
//! - screening before any update: exact [`fingerprint`]s, near duplicates, boundary proximity
//!   and a membership test ([`margin`]);
//! - monitoring after it, with rollback ([`monitor`]).
//!
//! [`Guard`] holds what they calibrate on the service's own data; the service asks it about
//! each request and reports a [`Verdict`] with every check's finding.

pub mod fingerprint;
pub mod margin;
pub mod monitor;

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Result, check_number};
use crate::metrics;
use crate::model::Cnn;
use fingerprint::Fingerprints;
use margin::MembershipTest;

/// A defence and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "defence", rename_all = "snake_case", deny_unknown_fields)]
pub enum Defence {
    /// Accept only samples whose 8-bit pixels hash (SHA-256) to one of the training images'.
    Fingerprint,
    /// Accept only samples within `tolerance` (RMS difference of pixel values, 0-255) of a
    /// training image of their submitted class: for services that accept re-encoded uploads.
    NearDuplicate {
        /// Largest RMS pixel difference accepted.
        tolerance: f64,
    },
    /// Reject a request whose samples' mean top-two margin is lower than all but a share
    /// `false_rejection` of normal requests of its size and class show.
    Boundary {
        /// Share of normal requests wrongly rejected, in (0, 0.5].
        false_rejection: f64,
    },
    /// Drop the samples a loss-threshold membership test judges non-members (calibrated so
    /// that a share `false_rejection` of training images is judged so).
    Membership {
        /// Share of training images wrongly judged non-members, in (0, 0.5].
        false_rejection: f64,
    },
    /// Roll an update back when a class's validation accuracy drops by more than a normal
    /// request of the same size costs it, plus `margin`.
    Monitor {
        /// Further drop allowed, in accuracy (0.05 is 5 points), in [0, 1].
        margin: f64,
    },
}

impl Defence {
    /// The defence's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Fingerprint => "fingerprint",
            Self::NearDuplicate { .. } => "near-duplicate",
            Self::Boundary { .. } => "boundary",
            Self::Membership { .. } => "membership",
            Self::Monitor { .. } => "monitor",
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::Fingerprint => Ok(()),
            Self::NearDuplicate { tolerance } => {
                check_number("tolerance", tolerance, 0.0, 255.0, false)
            }
            Self::Boundary { false_rejection } | Self::Membership { false_rejection } => {
                check_number("false_rejection", false_rejection, 0.0, 0.5, true)
            }
            Self::Monitor { margin } => check_number("margin", margin, 0.0, 1.0, false),
        }
    }
}

/// What one defence found about one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The defence.
    pub defence: String,
    /// Whether it objected (samples dropped, request rejected or update rolled back).
    pub flagged: bool,
    /// Samples it rejected (sample-level defences).
    pub rejected: usize,
    /// What it measured, in words.
    pub detail: String,
    /// Time it took, in seconds.
    pub seconds: f64,
}

/// What the service did with a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Unlearned as submitted.
    Accepted,
    /// Some samples were rejected; the others were unlearned.
    Trimmed {
        /// Samples rejected.
        rejected: usize,
    },
    /// Nothing was unlearned.
    Rejected {
        /// Why, in words.
        reason: String,
    },
    /// Unlearned, then undone.
    RolledBack {
        /// Why, in words.
        reason: String,
    },
}

impl Verdict {
    /// Whether the model changed.
    pub fn applied(&self) -> bool {
        matches!(self, Self::Accepted | Self::Trimmed { .. })
    }

    /// One word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Trimmed { .. } => "trimmed",
            Self::Rejected { .. } => "rejected",
            Self::RolledBack { .. } => "rolled back",
        }
    }
}

/// The defences of a service with what they calibrated on its data.
#[derive(Debug, Clone)]
pub struct Guard {
    defences: Vec<Defence>,
    fingerprints: Option<Fingerprints>,
    membership: Option<MembershipTest>,
    /// Margins of each class's training images, measured when first needed.
    margins: RefCell<HashMap<u16, Vec<f64>>>,
    seed: u64,
}

/// At most this many training images calibrate the membership test (evenly spread).
const MEMBERSHIP_SAMPLE: usize = 5000;

impl Guard {
    /// Calibrates `defences` on the service's `train` and `validation` images and `model`.
    pub async fn new(
        defences: &[Defence],
        model: &Cnn,
        train: &Dataset,
        validation: &Dataset,
        seed: u64,
    ) -> Result<Self> {
        defences.iter().try_for_each(Defence::validate)?;
        let mut guard = Self {
            defences: defences.to_vec(),
            fingerprints: None,
            membership: None,
            margins: RefCell::new(HashMap::new()),
            seed,
        };
        for defence in defences {
            match *defence {
                Defence::Fingerprint => guard.fingerprints = Some(Fingerprints::of(train)),
                Defence::Membership { false_rejection } => {
                    let n = train.len().min(MEMBERSHIP_SAMPLE);
                    let spread: Vec<usize> = (0..n).map(|k| k * train.len() / n).collect();
                    let members = losses(model, &train.select(&spread)).await?;
                    let held_out = losses(model, validation).await?;
                    guard.membership = Some(MembershipTest::calibrate(
                        &members,
                        &held_out,
                        false_rejection,
                    ));
                }
                _ => {}
            }
        }
        Ok(guard)
    }

    /// The defences, in the order they run.
    pub fn defences(&self) -> &[Defence] {
        &self.defences
    }

    /// The monitoring margin, if the service monitors.
    pub fn monitor_margin(&self) -> Option<f64> {
        self.defences.iter().find_map(|d| match d {
            Defence::Monitor { margin } => Some(*margin),
            _ => None,
        })
    }

    /// The calibrated membership test, if the service runs one.
    pub fn membership(&self) -> Option<&MembershipTest> {
        self.membership.as_ref()
    }

    /// Screens `submitted` (images and labels) against `model` and `train` before any update:
    /// returns the indices of the samples kept (none when the request is rejected), the
    /// rejection's reason if any, and each screening defence's finding.
    pub async fn screen(
        &self,
        model: &Cnn,
        train: &Dataset,
        submitted: &Dataset,
    ) -> Result<Screening> {
        let mut kept: Vec<usize> = (0..submitted.len()).collect();
        let mut checks = Vec::new();
        for defence in &self.defences {
            let start = web_time::Instant::now();
            let before = kept.len();
            let (rejected_request, detail) = match *defence {
                Defence::Fingerprint => {
                    let prints = self.fingerprints.as_ref().expect("calibrated");
                    kept.retain(|&i| prints.holds(submitted.image(i)));
                    (
                        None,
                        format!("{} of {before} samples match a training image", kept.len()),
                    )
                }
                Defence::NearDuplicate { tolerance } => {
                    let distances: Vec<f64> = kept
                        .iter()
                        .map(|&i| {
                            fingerprint::nearest_distance(
                                train,
                                submitted.labels[i],
                                submitted.image(i),
                            )
                        })
                        .collect();
                    let far = distances.iter().filter(|&&d| d > tolerance).count();
                    kept = kept
                        .iter()
                        .zip(&distances)
                        .filter(|(_, d)| **d <= tolerance)
                        .map(|(&i, _)| i)
                        .collect();
                    (
                        None,
                        format!(
                            "{far} of {before} samples further than RMS {tolerance} from every \
                             training image of their class (median {:.2})",
                            margin::quantile(&distances, 0.5)
                        ),
                    )
                }
                Defence::Membership { .. } => {
                    let test = self.membership.as_ref().expect("calibrated");
                    let rows = probabilities(model, submitted, &kept).await?;
                    let classes = submitted.num_classes();
                    let member: Vec<bool> = rows
                        .chunks(classes)
                        .zip(&kept)
                        .map(|(p, &i)| test.member(margin::loss(p, submitted.labels[i])))
                        .collect();
                    kept = kept
                        .iter()
                        .zip(&member)
                        .filter(|(_, m)| **m)
                        .map(|(&i, _)| i)
                        .collect();
                    (
                        None,
                        format!(
                            "{} of {before} samples judged non-members (loss above {:.3})",
                            before - kept.len(),
                            test.threshold
                        ),
                    )
                }
                Defence::Boundary { false_rejection } if !kept.is_empty() => {
                    let rows = probabilities(model, submitted, &kept).await?;
                    let margins: Vec<f64> = rows
                        .chunks(submitted.num_classes())
                        .map(margin::margin)
                        .collect();
                    let mean = metrics::stats::mean(&margins);
                    let class = majority(kept.iter().map(|&i| submitted.labels[i]));
                    let normal = self.class_margins(model, train, class).await?;
                    let threshold = margin::mean_margin_threshold(
                        &normal,
                        kept.len(),
                        false_rejection,
                        self.seed,
                    );
                    let detail = format!(
                        "mean margin {mean:.3}; normal requests of {} samples fall below \
                         {threshold:.3} at rate {false_rejection}",
                        kept.len()
                    );
                    let reject = (mean < threshold).then(|| format!("boundary: {detail}"));
                    (reject, detail)
                }
                Defence::Boundary { .. } => (None, "no sample left to measure".into()),
                Defence::Monitor { .. } => continue,
            };
            let rejected = before - kept.len();
            let flagged = rejected > 0 || rejected_request.is_some();
            checks.push(Check {
                defence: defence.name().into(),
                flagged,
                rejected,
                detail,
                seconds: start.elapsed().as_secs_f64(),
            });
            if let Some(reason) = rejected_request {
                return Ok(Screening {
                    kept: Vec::new(),
                    rejection: Some(reason),
                    checks,
                });
            }
        }
        let rejection = kept.is_empty().then(|| {
            let by: Vec<&str> = checks
                .iter()
                .filter(|c| c.flagged)
                .map(|c| c.defence.as_str())
                .collect();
            format!("every sample rejected ({})", by.join(", "))
        });
        Ok(Screening {
            kept,
            rejection,
            checks,
        })
    }

    /// Bytes of what the defences keep between requests beyond the service's own data: the
    /// fingerprints' digests, the training margins measured so far (8 bytes an image) and the
    /// membership test.
    pub fn kept_bytes(&self) -> usize {
        let margins: usize = self.margins.borrow().values().map(|m| m.len() * 8).sum();
        self.fingerprints.as_ref().map_or(0, Fingerprints::bytes)
            + margins
            + self
                .membership
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<MembershipTest>())
    }

    /// The margins of class `class`'s training images, measured once.
    async fn class_margins(&self, model: &Cnn, train: &Dataset, class: u16) -> Result<Vec<f64>> {
        if let Some(m) = self.margins.borrow().get(&class) {
            return Ok(m.clone());
        }
        let members: Vec<usize> = (0..train.len())
            .filter(|&i| train.labels[i] == class)
            .collect();
        let rows = probabilities(model, train, &members).await?;
        let margins: Vec<f64> = rows
            .chunks(train.num_classes())
            .map(margin::margin)
            .collect();
        self.margins.borrow_mut().insert(class, margins.clone());
        Ok(margins)
    }
}

/// What screening decided about a request.
#[derive(Debug, Clone)]
pub struct Screening {
    /// Indices of the submitted samples kept.
    pub kept: Vec<usize>,
    /// Why the whole request was rejected, if it was.
    pub rejection: Option<String>,
    /// Each screening defence's finding.
    pub checks: Vec<Check>,
}

/// The most frequent value (the smallest on ties; 0 for none): the class a request is judged
/// against by the boundary check and the monitor.
pub(crate) fn majority(values: impl Iterator<Item = u16>) -> u16 {
    let mut counts: HashMap<u16, usize> = HashMap::new();
    values.for_each(|v| *counts.entry(v).or_default() += 1);
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or(0, |(v, _)| v)
}

async fn probabilities(model: &Cnn, data: &Dataset, indices: &[usize]) -> Result<Vec<f32>> {
    metrics::probabilities(model, data, indices).await
}

/// The loss of each image of `data` against its label.
async fn losses(model: &Cnn, data: &Dataset) -> Result<Vec<f64>> {
    let all: Vec<usize> = (0..data.len()).collect();
    let rows = probabilities(model, data, &all).await?;
    Ok(rows
        .chunks(data.num_classes())
        .zip(&data.labels)
        .map(|(p, &l)| margin::loss(p, l))
        .collect())
}
