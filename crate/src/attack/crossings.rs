//! The crossings a malicious user has found, by goal and training sample. Crafting looks here
//! first, so a sample held by several request sizes is pushed once per goal, and a long run
//! that stopped goes on where it was (the CLI keeps the store in a file between runs).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::search::{Crossing, Failure, Goal};

/// A sample's crossing, or why there is none.
pub type Outcome = std::result::Result<Crossing, Failure>;

/// Outcomes by goal and training-sample index, for one model and one set of search settings
/// (named by [`Crossings::key`]; see `ExperimentConfig::crossings_key`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Crossings {
    /// What the crossings were found against: a store is only reused under the same key.
    pub key: String,
    untargeted: BTreeMap<usize, Outcome>,
    /// Targeted outcomes; the target is part of the key.
    targeted: BTreeMap<usize, Outcome>,
}

impl Crossings {
    /// An empty store for `key`.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            ..Self::default()
        }
    }

    fn side(&self, goal: Goal) -> &BTreeMap<usize, Outcome> {
        match goal {
            Goal::Untargeted => &self.untargeted,
            Goal::Targeted(_) => &self.targeted,
        }
    }

    /// The outcome of pushing training sample `source` toward `goal`, if it was pushed.
    pub fn get(&self, goal: Goal, source: usize) -> Option<&Outcome> {
        self.side(goal).get(&source)
    }

    /// Records the outcome of pushing `source` toward `goal`.
    pub fn insert(&mut self, goal: Goal, source: usize, outcome: Outcome) {
        match goal {
            Goal::Untargeted => self.untargeted.insert(source, outcome),
            Goal::Targeted(_) => self.targeted.insert(source, outcome),
        };
    }

    /// Samples pushed toward `goal` so far.
    pub fn len(&self, goal: Goal) -> usize {
        self.side(goal).len()
    }

    /// Whether no sample was pushed toward any goal.
    pub fn is_empty(&self) -> bool {
        self.untargeted.is_empty() && self.targeted.is_empty()
    }
}
