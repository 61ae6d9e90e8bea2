//! What a `defend` run has measured so far, kept after each piece (a request kind through the
//! undefended service, a defence against a kind, a margin floor), so that a run stopped by the
//! end of a working session resumes where it stopped. The pieces are those the run computes:
//! a resumed run's report equals an uninterrupted one's, times aside.

use serde::{Deserialize, Serialize};

use super::DefendSettings;
use super::report::{DefenceRow, FloorPoint};
use crate::attack::crossings::Crossings;
use crate::experiment::ExperimentConfig;
use crate::unlearn::defence::Defence;

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
    /// config, the settings the kept pieces depend on, and the lab's version. The floors
    /// (kept one by one), the tolerances (computed afresh) and SISA (not kept) are left out,
    /// so changing them keeps what was measured.
    pub fn key(
        crossings_key: &str,
        config: &ExperimentConfig,
        settings: &DefendSettings,
    ) -> String {
        let kept = DefendSettings {
            tolerances: Vec::new(),
            floors: Vec::new(),
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
