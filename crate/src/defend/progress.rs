//! What a `defend` run has measured so far, kept after each piece (a request kind through the
//! undefended service, a defence against a kind, a margin floor), so that a run stopped by the
//! end of a working session resumes where it stopped. The pieces are those the run computes:
//! a resumed run's report equals an uninterrupted one's, times aside.

use serde::{Deserialize, Serialize};

use super::DefendSettings;
use super::report::{DefenceRow, FalseRejection, FloorPoint, SisaSummary};
use crate::attack::crossings::Crossings;
use crate::experiment::ExperimentConfig;
use crate::unlearn::defence::Defence;
use crate::unlearn::sisa::SisaConfig;

/// One request kind through the undefended service, draw by draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Undefended {
    /// The kind's name.
    pub kind: String,
    /// Class-A test accuracy after each draw.
    pub accuracy_a: Vec<f64>,
    /// Seconds each draw's update took.
    pub seconds: Vec<f64>,
}

/// The measurements a run has finished.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// The run they belong to (see [`Measured::key`]).
    pub key: String,
    /// Request kinds through the undefended service.
    pub undefended: Vec<Undefended>,
    /// Defences against request kinds.
    pub rows: Vec<DefenceRow>,
    /// The adaptive attacker's floors.
    pub adaptive: Vec<FloorPoint>,
    /// The screening defences over many normal requests.
    #[serde(default)]
    pub false_rejection: Vec<FalseRejection>,
    /// SISA, with the settings it ran under.
    #[serde(default)]
    pub sisa: Option<KeptSisa>,
}

/// SISA's summary, kept with the shards, slices and requests it was measured for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptSisa {
    /// Shards and slices.
    pub config: SisaConfig,
    /// Requests unlearned.
    pub requests: usize,
    /// What was measured.
    pub summary: SisaSummary,
}

impl Measured {
    /// Nothing measured yet for the run `key`.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            ..Self::default()
        }
    }

    /// The run's key: the crafting's (model, data, search: `crossings_key`), the experiment
    /// config, the settings the kept pieces depend on, and the lab's version. The floors,
    /// the screening draws and SISA (kept with their settings), and the tolerances (computed
    /// afresh) are left out, so changing them keeps what was measured.
    pub fn key(
        crossings_key: &str,
        config: &ExperimentConfig,
        settings: &DefendSettings,
    ) -> String {
        let kept = DefendSettings {
            tolerances: Vec::new(),
            floors: Vec::new(),
            screening_draws: 0,
            sisa: Default::default(),
            sisa_requests: 0,
            ..settings.clone()
        };
        let text = serde_json::to_vec(&(crossings_key, config, kept, crate::VERSION))
            .expect("configs serialise");
        crate::pretrained::sha256_hex(&text)
    }

    /// Kind `kind`'s undefended draws, if all `draws` were measured.
    pub fn undefended(&self, kind: &str, draws: usize) -> Option<&Undefended> {
        self.undefended
            .iter()
            .find(|u| u.kind == kind && u.accuracy_a.len() == draws)
    }

    /// The row of `defence` against `kind`, if measured.
    pub fn row(&self, defence: &Defence, kind: &str) -> Option<&DefenceRow> {
        self.rows
            .iter()
            .find(|r| r.defence == *defence && r.kind == kind)
    }

    /// `defence`'s false rejection over `requests` normal requests, if measured.
    pub fn false_rejection(&self, defence: &Defence, requests: usize) -> Option<&FalseRejection> {
        self.false_rejection
            .iter()
            .find(|r| r.defence == *defence && r.requests == requests)
    }

    /// SISA's summary for `config` and `requests`, if measured.
    pub fn sisa(&self, config: SisaConfig, requests: usize) -> Option<&SisaSummary> {
        self.sisa
            .as_ref()
            .filter(|s| s.config == config && s.requests == requests)
            .map(|s| &s.summary)
    }

    /// The adaptive attacker at `floor`, if measured.
    pub fn floor(&self, floor: f64) -> Option<&FloorPoint> {
        self.adaptive.iter().find(|p| p.floor == floor)
    }
}

/// Where a run finds and keeps what it has done.
pub struct Kept<'a> {
    /// The samples pushed so far (shared with `reproduce`).
    pub crossings: &'a mut Crossings,
    /// The measurements finished.
    pub measured: &'a mut Measured,
}

/// What a run hands its host to keep.
pub enum Saved<'a> {
    /// The crossings, after a few more samples were pushed.
    Crossings(&'a Crossings),
    /// The measurements, after one more piece.
    Measured(&'a Measured),
}
