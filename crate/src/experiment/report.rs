//! What an experiment reports: one [`Row`] per request and unlearning step size, in the shape
//! of the paper's Tables IV and V.

use serde::{Deserialize, Serialize};

use super::Attack;
use super::ExperimentConfig;
use super::craft::RequestStats;
use crate::attack::request::SubmittedLabel;
use crate::metrics::{Evaluation, Shift};
use crate::unlearn::defence::{Check, Verdict};
use crate::unlearn::first_order;

/// One request's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// The row's display title, e.g. `Pushing-I (targeted) 50% (original)`.
    pub title: String,
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
    /// What the defended service did with the request (absent without defences).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Each defence's finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Class A's test images in the feature plane after the request (absent in reports from
    /// before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<RowFeatures>,
    /// The l2 distance the unlearning moved the model's parameters
    /// ([`metrics::parameter_distance`](crate::metrics::parameter_distance); absent in reports
    /// written before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_norm: Option<f64>,
}

/// Class A's test images in the model's feature space: the penultimate layer's activations
/// projected on their first two principal components before any request (one plane for every
/// row, so the points' moves show).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureView {
    /// The images shown: class A's test images (at most [`FeatureView::MAX`], evenly spread),
    /// by index in the test split.
    pub test_indices: Vec<usize>,
    /// Their points before any request.
    pub before: Vec<[f32; 2]>,
    /// The model's prediction for each before any request.
    pub predicted: Vec<u16>,
}

impl FeatureView {
    /// At most this many images are shown.
    pub const MAX: usize = 500;
}

/// One request's effect in the feature plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowFeatures {
    /// The shown test images' points after the request.
    pub points: Vec<[f32; 2]>,
    /// Their predictions after it (the row's confusion matrix counts the same).
    pub predicted: Vec<u16>,
    /// The submitted samples' points, through the model before the request.
    pub submitted: Vec<[f32; 2]>,
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
    /// The unlearning method and its service in words.
    pub method: String,
    /// Class names.
    pub class_names: Vec<String>,
    /// Test evaluation before unlearning.
    pub before: Evaluation,
    /// Train-set accuracy before unlearning, on `train_sample` training images.
    pub train_accuracy: f64,
    /// How many training images `train_accuracy` was measured on (evenly spread; 0 in reports
    /// from before this was recorded, which measured every training image).
    #[serde(default)]
    pub train_sample: usize,
    /// The first-order step size used (calibrated or fixed), if that is the method.
    pub tau: Option<f64>,
    /// The calibration, if tau was calibrated.
    pub calibration: Option<first_order::Calibration>,
    /// One row per request.
    pub rows: Vec<Row>,
    /// Class A's test images in the feature plane before any request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureView>,
    /// Wall time in seconds.
    pub seconds: f64,
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
            "Before unlearning: train {}%{}, test {}%, {} test {}%. Method: {}{}.\n\n",
            pct(self.train_accuracy),
            match self.train_sample {
                0 => String::new(),
                n => format!(" (on {n} training images)"),
            },
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
        // Blending's effect shows on the blend class: a column of its own where it is not class B.
        let blend_column = c
            .blend_class
            .as_ref()
            .filter(|b| **b != c.class_b)
            .and_then(|b| Some((b, self.class_names.iter().position(|n| n == b)?)));
        if let Some(blend) = &c.blend_class {
            out += &format!(
                "Blending mixes {blend} images into {}'s; targeted pushing aims at {}.{}\n\n",
                c.class_a,
                c.class_b,
                blend_column.map_or(String::new(), |(b, i)| format!(
                    " Before unlearning: {b} test {}%.",
                    pct(self.before.per_class[i])
                ))
            );
        }
        let tau = |r: &Row| r.tau.map_or("-".to_string(), |t| format!("{t:.2e}"));
        let (blend_head, blend_rule) =
            blend_column.map_or((String::new(), ""), |(b, _)| (format!(" {b} % |"), "---|"));
        out += &format!(
            "| request | tau | attack | label | crafted | overall % | {} % | {} % |{blend_head} mean SSIM | mean l2 | queries/sample |\n|---|---|---|---|---|---|---|---|{blend_rule}---|---|---|\n",
            c.class_a, c.class_b
        );
        for r in &self.rows {
            let blend_cell = blend_column.map_or(String::new(), |(_, i)| {
                format!(" {} |", pct(r.per_class[i]))
            });
            out += &format!(
                "| {} ({}%) | {} | {} | {:?} | {} | {} | {} | {} |{blend_cell} {:.3} | {:.3} | {:.0} |\n",
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
