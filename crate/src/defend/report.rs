//! What `defend` measured, and its markdown tables.

use serde::{Deserialize, Serialize};

use super::DefendSettings;
use crate::experiment::ExperimentConfig;
use crate::unlearn::defence::Defence;

/// One request kind over its draws, put through the undefended service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindRow {
    /// The kind, e.g. `Pushing-I 10% (original)` or `normal 10% (JPEG 90)`.
    pub kind: String,
    /// Whether it is an attack.
    pub malicious: bool,
    /// Requests drawn.
    pub requests: usize,
    /// Samples a request.
    pub size: usize,
    /// Mean class-A test accuracy after the undefended service unlearned it.
    pub accuracy_a: f64,
}

/// One defence against one request kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefenceRow {
    /// The defence.
    pub defence: Defence,
    /// The request kind.
    pub kind: String,
    /// Whether the kind is an attack (flagging it is a detection; otherwise a false rejection).
    pub malicious: bool,
    /// Requests handled.
    pub requests: usize,
    /// Requests the defence objected to (rejected, trimmed or rolled back).
    pub flagged: usize,
    /// Of those, rejected whole.
    pub rejected: usize,
    /// Of those, rolled back after the update.
    pub rolled_back: usize,
    /// Share of all submitted samples rejected.
    pub samples_rejected: f64,
    /// Mean class-A test accuracy after the service handled the request: what the attack
    /// still achieves (for normal requests, what honest users get).
    pub accuracy_a: f64,
    /// Mean seconds a request spent in the defence (screening or monitoring).
    pub seconds: f64,
}

/// A screening defence's false rejection over many normal requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FalseRejection {
    /// The defence.
    pub defence: Defence,
    /// Normal requests screened (each plain and re-encoded).
    pub requests: usize,
    /// Plain requests flagged.
    pub plain: usize,
    /// Re-encoded requests flagged.
    pub reencoded: usize,
    /// Mean seconds a screening.
    pub seconds: f64,
}

/// One tolerance of the near-duplicate check, sample by sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TolerancePoint {
    /// RMS pixel difference accepted.
    pub tolerance: f64,
    /// Share of honest re-encoded samples rejected.
    pub reencoded_rejected: f64,
    /// Share of pushed samples (Pushing-I and -II) caught.
    pub pushed_caught: f64,
}

/// One margin floor of the adaptive attacker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorPoint {
    /// The margin the pushed samples keep.
    pub floor: f64,
    /// Mean class-A test accuracy after the undefended service unlearned the requests.
    pub accuracy_a: f64,
    /// Share of the requests the boundary check flags.
    pub flagged: f64,
    /// Mean SSIM of the submitted samples to their originals.
    pub mean_ssim: f64,
}

/// Exact unlearning beside the first-order service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SisaSummary {
    /// Shards.
    pub shards: usize,
    /// Slices a shard.
    pub slices: usize,
    /// Seconds to train the ensemble.
    pub train_seconds: f64,
    /// The ensemble's test accuracy before any request.
    pub accuracy: f64,
    /// Its class-A test accuracy before any request.
    pub accuracy_a: f64,
    /// Requests unlearned (normal requests of the first size; malicious ones drop the same
    /// samples, since SISA never reads the submitted pixels).
    pub requests: usize,
    /// Mean seconds a request.
    pub seconds_per_request: f64,
    /// Mean slice trainings a request.
    pub slice_trainings_per_request: f64,
    /// Class-A test accuracy after the requests.
    pub accuracy_a_after: f64,
    /// The first-order service's mean seconds a request, for contrast.
    pub first_order_seconds: f64,
    /// The first-order service's model: its test accuracy.
    #[serde(default)]
    pub first_order_accuracy: f64,
    /// Its mean class-A test accuracy after one normal request of the first size.
    #[serde(default)]
    pub first_order_accuracy_a_after: f64,
    /// Bytes of the models SISA keeps (each shard after each slice).
    #[serde(default)]
    pub kept_bytes: usize,
    /// Bytes of the one model the first-order service keeps, for contrast.
    #[serde(default)]
    pub model_bytes: usize,
}

/// What a defence keeps between requests, beyond the service's own data and model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefenceState {
    /// The defence.
    pub defence: Defence,
    /// Bytes kept (digests, measured margins, calibrations, validation accuracies).
    pub bytes: usize,
    /// Its calibration and its finding on the first normal request (for the membership test,
    /// its power: the share of held-out images it judges non-members).
    #[serde(default)]
    pub detail: String,
}

/// The defences' report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefendReport {
    /// Crate version.
    pub version: String,
    /// The experiment (its seed, backend and defences).
    pub config: ExperimentConfig,
    /// How it was measured.
    pub settings: DefendSettings,
    /// Class names.
    pub class_names: Vec<String>,
    /// Class-A test accuracy before any request.
    pub accuracy_a_before: f64,
    /// Each request kind, undefended.
    pub kinds: Vec<KindRow>,
    /// Each defence against each kind.
    pub defences: Vec<DefenceRow>,
    /// The screening defences over many normal requests.
    #[serde(default)]
    pub false_rejection: Vec<FalseRejection>,
    /// What each defence keeps between requests.
    #[serde(default)]
    pub state: Vec<DefenceState>,
    /// The near-duplicate tolerance's trade-off.
    pub tolerance_curve: Vec<TolerancePoint>,
    /// The adaptive attacker's trade-off.
    pub adaptive: Vec<FloorPoint>,
    /// Exact unlearning, if measured.
    pub sisa: Option<SisaSummary>,
    /// Wall time, in seconds.
    pub seconds: f64,
}

impl DefendReport {
    /// The report as markdown tables.
    pub fn markdown(&self) -> String {
        let pct = |v: f64| format!("{:.1}", v * 100.0);
        let c = &self.config;
        let mut out = format!(
            "{} test accuracy before any request: {}%. {} draws of each request kind; method: {}.\n\n",
            c.class_a,
            pct(self.accuracy_a_before),
            self.settings.draws,
            c.method.describe()
        );
        out += &format!(
            "| defence | request | flagged | rejected | rolled back | samples rejected | {} % after | ms/request |\n|---|---|---|---|---|---|---|---|\n",
            c.class_a
        );
        for k in &self.kinds {
            out += &format!(
                "| none | {} | - | - | - | - | {} | - |\n",
                k.kind,
                pct(k.accuracy_a)
            );
        }
        for r in &self.defences {
            out += &format!(
                "| {} | {} | {}/{} | {} | {} | {} | {} | {:.0} |\n",
                describe(&r.defence),
                r.kind,
                r.flagged,
                r.requests,
                r.rejected,
                r.rolled_back,
                pct(r.samples_rejected),
                pct(r.accuracy_a),
                r.seconds * 1000.0
            );
        }
        if let Some(first) = self.false_rejection.first() {
            let bound = |k| pct(crate::metrics::stats::upper_bound(k, first.requests, 0.95));
            out += &format!(
                "\nFalse rejection over {} seeded normal requests of {}% (screening only; \
                 95% upper bound, Clopper-Pearson).\n\n| defence | plain flagged | upper bound \
                 % | JPEG {} flagged | upper bound % | ms/screening |\n|---|---|---|---|---|---|\n",
                first.requests, c.percentages[0], self.settings.jpeg_quality
            );
            for r in &self.false_rejection {
                out += &format!(
                    "| {} | {}/{} | {} | {}/{} | {} | {:.0} |\n",
                    describe(&r.defence),
                    r.plain,
                    r.requests,
                    bound(r.plain),
                    r.reencoded,
                    r.requests,
                    bound(r.reencoded),
                    r.seconds * 1000.0
                );
            }
        }
        if !self.state.is_empty() {
            out += "\nWhat each defence keeps between requests, beyond the service's data and \
                    model, and its calibration or finding on a normal request.\n\n| defence | kept \
                    | calibration or finding |\n|---|---|---|\n";
            for s in &self.state {
                out += &format!(
                    "| {} | {} | {} |\n",
                    describe(&s.defence),
                    bytes(s.bytes),
                    s.detail
                );
            }
        }
        out += &format!(
            "\nNear-duplicate tolerance (RMS pixel difference, 0-255), sample by sample: honest \
             uploads re-encoded as JPEG at quality {} vs pushed samples.\n\n| tolerance | honest \
             re-encoded rejected % | pushed caught % |\n|---|---|---|\n",
            self.settings.jpeg_quality
        );
        for t in &self.tolerance_curve {
            out += &format!(
                "| {} | {} | {} |\n",
                t.tolerance,
                pct(t.reencoded_rejected),
                pct(t.pushed_caught)
            );
        }
        out += &format!(
            "\nThe adaptive attacker: Pushing-I stopped at a margin floor, against the boundary \
             check at a false rejection of {}.\n\n| margin floor | {} % after (undefended) | \
             flagged % | mean SSIM |\n|---|---|---|---|\n",
            self.settings.floor_false_rejection, c.class_a
        );
        for f in &self.adaptive {
            out += &format!(
                "| {} | {} | {} | {:.3} |\n",
                f.floor,
                pct(f.accuracy_a),
                pct(f.flagged),
                f.mean_ssim
            );
        }
        if let Some(s) = &self.sisa {
            out += &format!(
                "\nSISA ({} shards x {} slices, trained in {:.0} s): test {}%, {} {}% before; \
                 {} normal requests, {:.1} s and {:.1} slice trainings each, {} {}% after; it \
                 keeps {} of models. The first-order service: test {}%, {} {}% before, {}% after \
                 one normal request, {:.2} s a request, one model of {}.\n",
                s.shards,
                s.slices,
                s.train_seconds,
                pct(s.accuracy),
                c.class_a,
                pct(s.accuracy_a),
                s.requests,
                s.seconds_per_request,
                s.slice_trainings_per_request,
                c.class_a,
                pct(s.accuracy_a_after),
                bytes(s.kept_bytes),
                pct(s.first_order_accuracy),
                c.class_a,
                pct(self.accuracy_a_before),
                pct(s.first_order_accuracy_a_after),
                s.first_order_seconds,
                bytes(s.model_bytes)
            );
        }
        out
    }
}

/// A byte count in B, kB or MB (decimal).
fn bytes(n: usize) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1} kB", n as f64 / 1e3),
        n => format!("{n} B"),
    }
}

/// A defence with its parameters, for tables.
pub fn describe(defence: &Defence) -> String {
    match defence {
        Defence::Fingerprint => "fingerprint".into(),
        Defence::NearDuplicate { tolerance } => format!("near-duplicate (RMS {tolerance})"),
        Defence::Boundary { false_rejection } => format!("boundary (FRR {false_rejection})"),
        Defence::Membership { false_rejection } => format!("membership (FRR {false_rejection})"),
        Defence::Monitor { margin } => format!("monitor (margin {margin})"),
    }
}
