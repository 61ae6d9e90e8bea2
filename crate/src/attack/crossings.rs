//! The crossings a malicious user has found, by goal and training sample. Crafting looks here
//! first, so a sample held by several request sizes is pushed once per goal, and a long run
//! that stopped goes on where it was (the CLI keeps the store in a file between runs).
//!
//! The repository ships a store in [`Part`]s, one file per goal side and request size, so the
//! page downloads only what a run uses: requests of one class are nested (the 10% request's
//! samples are the first of the 50% one's, [`crate::unlearn::request::forget_set`]), so a part
//! holds the samples its size adds to the smaller parts', and a run needs, per side it pushes,
//! the parts up to the first as large as its largest request ([`parts_needed`]).

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

    /// Takes `other`'s outcomes for samples this store has not pushed (a store of another
    /// key is ignored): how shipped parts come back together.
    pub fn merge(&mut self, other: Self) {
        if other.key != self.key {
            return;
        }
        for (mine, theirs) in [
            (&mut self.untargeted, other.untargeted),
            (&mut self.targeted, other.targeted),
        ] {
            for (source, outcome) in theirs {
                mine.entry(source).or_insert(outcome);
            }
        }
    }
}

/// One shipped file of a crossings store: a goal side and the request size (percent of class
/// A) whose samples it adds to the smaller parts'.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part {
    /// The targeted side (toward class B) rather than the untargeted one.
    pub targeted: bool,
    /// The request size, in percent of class A.
    pub percent: f64,
}

impl Part {
    /// The file stem the part ships under: the key's first 24 characters, `-u` (untargeted) or
    /// `-t` (targeted), and the percentage, e.g. `146bdc76da16c81ec345e862-u10`.
    pub fn stem(&self, key: &str) -> String {
        let side = if self.targeted { 't' } else { 'u' };
        format!("{}-{side}{}", &key[..24.min(key.len())], self.percent)
    }

    /// The part a file stem names, if it is one of `key`'s.
    pub fn parse(key: &str, stem: &str) -> Option<Self> {
        let rest = stem
            .strip_prefix(&key[..24.min(key.len())])?
            .strip_prefix('-')?;
        let targeted = match rest.as_bytes().first()? {
            b't' => true,
            b'u' => false,
            _ => return None,
        };
        let percent: f64 = rest[1..].parse().ok()?;
        (percent > 0.0 && percent <= 100.0).then_some(Self { targeted, percent })
    }
}

/// Which of the shipped file stems `stems` a run against `key` needs, given the parts it
/// `wants` (per side it pushes, its largest request): per side, the parts smaller than the
/// request and the first at least as large (all of them when none is).
pub fn parts_needed<'a>(key: &str, stems: &'a [String], wants: &[Part]) -> Vec<&'a String> {
    let mut needed = Vec::new();
    for want in wants {
        let mut side: Vec<(f64, &String)> = stems
            .iter()
            .filter_map(|stem| Some((Part::parse(key, stem)?, stem)))
            .filter(|(part, _)| part.targeted == want.targeted)
            .map(|(part, stem)| (part.percent, stem))
            .collect();
        side.sort_by(|a, b| a.0.total_cmp(&b.0));
        let end = side
            .iter()
            .position(|(percent, _)| *percent >= want.percent)
            .map_or(side.len(), |i| i + 1);
        needed.extend(side[..end].iter().map(|(_, stem)| *stem));
    }
    needed
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
