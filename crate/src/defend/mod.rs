//! The defences measured: many seeded normal and malicious requests put through a service
//! defended by each of the experiment's defences in turn, with what each catches, what it costs
//! honest users (plain and re-encoded uploads), what the attack still achieves, the
//! near-duplicate tolerance's trade-off, the adaptive attacker's margin floors and, for
//! contrast, exact unlearning (SISA).
//!
//! - [`cost`]: the screening defences' false rejection over many normal requests, and what
//!   each defence keeps;
//! - `exact`: SISA beside the first-order service;
//! - [`progress`]: the pieces measured so far, so a stopped run resumes;
//! - [`reencode`]: honest uploads as JPEG re-encodings;
//! - [`report`]: the figures and their markdown.

pub mod cost;
mod exact;
pub mod progress;
pub mod reencode;
pub mod report;
mod run;

pub use report::DefendReport;
pub use run::defend;

use serde::{Deserialize, Serialize};

use crate::error::{Result, check_count, check_number};
use crate::unlearn::sisa::SisaConfig;

/// How the defences are measured (the experiment config says what is attacked and defended).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefendSettings {
    /// Seeded draws of each request kind (other samples of class A each time).
    pub draws: usize,
    /// JPEG quality of honest users' re-encoded uploads.
    pub jpeg_quality: u8,
    /// Seeded normal requests (of the first size, plain and re-encoded) each screening
    /// defence is checked on for its false rejection (screening needs no update, so many are
    /// cheap; 0 skips). Not written when 0, so the key of measurements kept before this
    /// setting existed still matches ([`progress::Measured::key`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub screening_draws: usize,
    /// Near-duplicate tolerances (RMS pixel difference) of the trade-off curve.
    pub tolerances: Vec<f64>,
    /// The adaptive attacker's margin floors (Pushing-I stopped short of the boundary).
    pub floors: Vec<f64>,
    /// The false-rejection rate of the boundary check the adaptive attacker is measured
    /// against.
    pub floor_false_rejection: f64,
    /// SISA's shards and slices.
    pub sisa: SisaConfig,
    /// Normal requests SISA unlearns (each retrains the shards they touch; 0 skips SISA).
    pub sisa_requests: usize,
}

impl Default for DefendSettings {
    fn default() -> Self {
        Self {
            draws: 20,
            jpeg_quality: 90,
            screening_draws: 500,
            tolerances: vec![0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0],
            floors: vec![0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95],
            floor_false_rejection: 0.01,
            sisa: SisaConfig::default(),
            sisa_requests: 2,
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl DefendSettings {
    /// Checks every value before any work starts.
    pub fn validate(&self) -> Result<()> {
        check_count("draws", self.draws, 1, 1000)?;
        check_count("jpeg_quality", usize::from(self.jpeg_quality), 1, 100)?;
        check_count("screening_draws", self.screening_draws, 0, 100_000)?;
        for &t in &self.tolerances {
            check_number("tolerances", t, 0.0, 255.0, false)?;
        }
        for &f in &self.floors {
            check_number("floors", f, 0.0, 1.0, false)?;
        }
        check_number(
            "floor_false_rejection",
            self.floor_false_rejection,
            0.0,
            0.5,
            true,
        )?;
        self.sisa.validate()?;
        check_count("sisa_requests", self.sisa_requests, 0, 100)
    }
}
