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

/// The most bytes a crossings file may unpack to (a store of 2,400 CIFAR samples is ~50 MB).
const MAX_UNPACKED: u64 = 256 << 20;

impl Crossings {
    /// Reads a crossings file: the JSON store, or the same gzipped (as the lab ships them);
    /// `origin` names the file in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> crate::Result<Self> {
        use std::io::Read;
        let bad = |problem: String| crate::Error::data(origin, problem);
        let unpacked;
        let json = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(bytes)
                .take(MAX_UNPACKED + 1)
                .read_to_end(&mut out)
                .map_err(|e| bad(format!("not a gzip file: {e}")))?;
            if out.len() as u64 > MAX_UNPACKED {
                return Err(bad(format!(
                    "unpacks to more than {} MB",
                    MAX_UNPACKED >> 20
                )));
            }
            unpacked = out;
            &unpacked[..]
        } else {
            bytes
        };
        serde_json::from_slice(json).map_err(|e| bad(format!("not a crossings store: {e}")))
    }

    /// The store as a gzipped JSON file, as the lab ships crafted requests.
    pub fn to_gzip(&self) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        serde_json::to_writer(&mut gz, self).expect("crossings serialise");
        gz.flush().expect("writes to memory");
        gz.finish().expect("writes to memory")
    }

    /// The part of the store that `wanted` names (targeted or not, sample): what one
    /// experiment's requests use, to ship beside it.
    pub fn subset(&self, wanted: impl IntoIterator<Item = (bool, usize)>) -> Self {
        let mut out = Self::new(self.key.clone());
        for (targeted, source) in wanted {
            // The target is part of the key, so any target names the targeted side.
            let goal = if targeted {
                Goal::Targeted(0)
            } else {
                Goal::Untargeted
            };
            if let Some(outcome) = self.get(goal, source) {
                out.insert(goal, source, outcome.clone());
            }
        }
        out
    }
}
