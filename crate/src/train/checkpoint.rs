//! A training run's state between epochs, as files: what [`Session::resume`] needs to go on
//! exactly where the run stopped.
//!
//! A checkpoint is a folder of four files: `state.json` ([`CheckpointState`]: settings, history,
//! random-stream positions, shuffled order), `weights.bin` (the network being trained, a model
//! file), `best.bin` (the kept weights, a model file) and `optimizer.bpk` (burn's optimiser
//! record). The optimiser's state is keyed by burn's parameter ids, which a fresh network does
//! not share: the state records the ids in visiting order and [`Checkpoint::network`] gives them
//! back.
//!
//! [`Session::resume`]: super::Session::resume

use std::path::Path;

use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::{EpochSummary, TrainConfig};
use crate::error::{Error, Result};
use crate::model::{Cnn, Trained};
use crate::rng::{self, Rng};

/// A training run's state after a finished epoch.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Everything but the tensors.
    pub state: CheckpointState,
    /// The network being trained (model-file bytes).
    pub weights: Vec<u8>,
    /// The kept weights (model-file bytes).
    pub best: Vec<u8>,
    /// The optimiser's state (burnpack bytes).
    pub optimizer: Vec<u8>,
}

/// The part of a checkpoint that is not tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointState {
    /// The crate version that wrote it.
    pub version: String,
    /// The training settings.
    pub config: TrainConfig,
    /// The run's seed.
    pub seed: u64,
    /// One summary per finished epoch.
    pub history: Vec<EpochSummary>,
    /// The epoch of the kept weights (0: none yet).
    pub best_epoch: usize,
    /// The kept weights' score (`None` before the first epoch).
    pub best_loss: Option<f64>,
    /// The training images' order after the last shuffle (the next shuffles it again).
    pub order: Vec<usize>,
    /// Word position of the shuffling stream (a u128, in decimal).
    pub shuffle_position: String,
    /// Word position of the augmentation stream (a u128, in decimal).
    pub augment_position: String,
    /// burn's id of each trained tensor, in visiting order.
    pub param_ids: Vec<u64>,
    /// Wall time of the finished epochs, in seconds.
    pub seconds: f64,
}

const FILES: [&str; 4] = ["state.json", "weights.bin", "best.bin", "optimizer.bpk"];

impl Checkpoint {
    /// Writes the checkpoint into the folder `dir` (created if needed). The files are written
    /// beside and then renamed over the old ones, state last, so an interrupted save leaves
    /// the previous checkpoint readable in all but the instant of the renames.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        let state = serde_json::to_vec_pretty(&self.state).expect("the state serialises");
        let contents: [&[u8]; 4] = [&state, &self.weights, &self.best, &self.optimizer];
        for (name, bytes) in FILES.iter().zip(contents) {
            let temporary = dir.join(format!("{name}.partial"));
            std::fs::write(&temporary, bytes).map_err(|e| Error::io(temporary.display(), e))?;
        }
        for name in FILES.iter().rev() {
            let (from, to) = (dir.join(format!("{name}.partial")), dir.join(name));
            std::fs::rename(&from, &to).map_err(|e| Error::io(to.display(), e))?;
        }
        Ok(())
    }

    /// Reads the checkpoint in the folder `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| Error::io(path.display(), e))
        };
        let origin = dir.join(FILES[0]);
        let state = serde_json::from_slice(&read(FILES[0])?)
            .map_err(|e| Error::data(origin.display(), format!("not a checkpoint state: {e}")))?;
        Ok(Self {
            state,
            weights: read(FILES[1])?,
            best: read(FILES[2])?,
            optimizer: read(FILES[3])?,
        })
    }

    /// The network being trained, in training mode on `device`'s autodiff variant (`device` is a
    /// plain device), with the parameter ids the optimiser's state refers to.
    pub fn network(&self, device: &Device) -> Result<Cnn> {
        let trained = Trained::weights_from_bytes(&self.weights, device, "checkpoint weights.bin")?;
        let ids = &self.state.param_ids;
        let mut restore = RestoreIds { ids, next: 0 };
        let net = trained.model.map(&mut restore);
        if restore.next != ids.len() {
            return Err(Error::model_file(
                "checkpoint weights.bin",
                format!(
                    "{} tensors, the state lists {} parameter ids",
                    restore.next,
                    ids.len()
                ),
            ));
        }
        Ok(net.train().fork(&device.clone().autodiff()))
    }
}

/// burn's id of each trained tensor of `net`, in visiting order.
pub(super) fn param_ids(net: &Cnn) -> Vec<u64> {
    let mut collect = CollectIds(Vec::new());
    net.visit(&mut collect);
    collect.0
}

/// The stream `name` of `seed`, moved to the word `position` (a decimal u128).
pub(super) fn stream_at(seed: u64, name: &str, position: &str) -> Result<Rng> {
    let position: u128 = position.parse().map_err(|_| {
        Error::config(
            "resume",
            format!("random-stream position {position:?} is not a whole number"),
        )
    })?;
    let mut stream = rng::stream(seed, name);
    stream.set_word_pos(position);
    Ok(stream)
}

struct CollectIds(Vec<u64>);

impl ModuleVisitor for CollectIds {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.id.val());
    }
}

struct RestoreIds<'a> {
    ids: &'a [u64],
    next: usize,
}

impl ModuleMapper for RestoreIds<'_> {
    fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if let Some(&id) = self.ids.get(self.next) {
            param.id = ParamId::from(id);
        }
        self.next += 1;
        param
    }
}
