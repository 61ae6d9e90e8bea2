//! The architecture as data: its blocks, batch-norm settings, initialisation and the named
//! presets, checked before any network is built ([`super::ModelConfig::init`] builds it).

use serde::{Deserialize, Serialize};

use crate::data::ImageShape;
use crate::error::{Error, Result};

/// One convolutional block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockConfig {
    /// Filters of every conv layer in the block.
    pub filters: usize,
    /// Conv layers in the block.
    pub convs: usize,
    /// Dropout rate after the block's pooling.
    pub dropout: f64,
}

/// The architecture: everything needed to rebuild the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Shape of the input images.
    pub input: ImageShape,
    /// Number of output classes.
    pub num_classes: usize,
    /// The convolutional blocks, input side first.
    pub blocks: Vec<BlockConfig>,
    /// Whether conv and dense layers are followed by batch-norm.
    pub batch_norm: bool,
    /// How batch-norm keeps its running statistics. Files and configs written before this field
    /// existed were trained with burn's defaults, which is what a missing field reads as.
    #[serde(default = "NormSettings::burn")]
    pub norm: NormSettings,
    /// How fresh weights are drawn. Files and configs written before this field existed used
    /// burn's defaults, which is what a missing field reads as (and how it is written, so such
    /// configs and files read and hash as before).
    #[serde(default, skip_serializing_if = "Init::is_burn")]
    pub init: Init,
    /// Width of the dense layer before the output.
    pub dense: usize,
    /// Dropout rate after the dense layer.
    pub dense_dropout: f64,
}

/// Batch-norm's running statistics: `running = (1 - momentum) * running + momentum * batch`, and
/// `epsilon` added to the variance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormSettings {
    /// The weight of each training batch's statistics (burn's and PyTorch's convention; Keras
    /// writes `1 - momentum`).
    pub momentum: f64,
    /// Added to the variance before dividing by its square root.
    pub epsilon: f64,
}

impl NormSettings {
    /// The reference's (Keras's `BatchNormalization()`: momentum 0.99 in Keras's convention,
    /// epsilon 1e-3): the running statistics move 1% toward each batch.
    pub const KERAS: Self = Self {
        momentum: 0.01,
        epsilon: 1e-3,
    };

    /// For trainings of a few hundred steps (the tutorial, tests): running statistics that move 1%
    /// a batch are still far from the data's after them (measured on the tutorial: 12%
    /// validation accuracy after its 8 epochs, 85% on the training batches), so these move 10%
    /// a batch, as burn's default does; epsilon as the reference's.
    pub const SHORT_TRAINING: Self = Self {
        momentum: 0.1,
        epsilon: 1e-3,
    };

    /// burn's `BatchNormConfig` defaults (momentum 0.1, epsilon 1e-5): what the lab used before
    /// the setting existed.
    pub fn burn() -> Self {
        Self {
            momentum: 0.1,
            epsilon: 1e-5,
        }
    }
}

impl Default for NormSettings {
    fn default() -> Self {
        Self::KERAS
    }
}

/// How a fresh network's weights are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// burn's defaults (PyTorch's): kaiming-uniform with gain 1/sqrt(3) for kernels and biases.
    #[default]
    Burn,
    /// The reference's Keras layers (`vgg16.py`): he-uniform kernels for the conv and dense
    /// layers, glorot-uniform for the output layer, zero biases.
    Keras,
}

impl Init {
    /// Whether this is burn's default initialisation.
    pub fn is_burn(&self) -> bool {
        *self == Self::Burn
    }
}

/// Named architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The paper's model: 3 blocks x 2 conv x 128 filters, dense 512.
    Paper,
    /// Narrower: minutes per training natively on 2 cores.
    Lab,
    /// Small enough to train in about two minutes in a browser on CPU.
    Tutorial,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Self; 3] = [Self::Paper, Self::Lab, Self::Tutorial];

    /// The name used on the command line and in configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Paper => "paper",
            Self::Lab => "lab",
            Self::Tutorial => "tutorial",
        }
    }

    /// The architecture for images of `input` shape and `num_classes` classes.
    pub fn config(self, input: ImageShape, num_classes: usize) -> ModelConfig {
        let block = |filters, convs, dropout| BlockConfig {
            filters,
            convs,
            dropout,
        };
        let norm = match self {
            Self::Paper | Self::Lab => NormSettings::KERAS,
            Self::Tutorial => NormSettings::SHORT_TRAINING,
        };
        // The lab and tutorial presets keep burn's initialisation: their tests and documented
        // numbers were measured with it.
        let init = match self {
            Self::Paper => Init::Keras,
            Self::Lab | Self::Tutorial => Init::Burn,
        };
        let (blocks, dense, dense_dropout) = match self {
            Self::Paper => (
                vec![block(128, 2, 0.1), block(128, 2, 0.1), block(128, 2, 0.2)],
                512,
                0.0,
            ),
            Self::Lab => (
                vec![block(32, 2, 0.1), block(64, 2, 0.1), block(128, 2, 0.2)],
                256,
                0.2,
            ),
            Self::Tutorial => (
                vec![block(16, 1, 0.0), block(32, 1, 0.0), block(64, 1, 0.1)],
                64,
                0.1,
            ),
        };
        ModelConfig {
            input,
            num_classes,
            blocks,
            batch_norm: true,
            norm,
            init,
            dense,
            dense_dropout,
        }
    }
}

crate::named!(Preset, "preset");

impl ModelConfig {
    /// The same architecture with `depth` VGG blocks: its first blocks when fewer, and when
    /// more, blocks repeating its last block's convs and dropout with the filters growing as
    /// they grew from the second-to-last to the last block (the lab's 32/64/128 goes on with
    /// 256, 512...), at most 256, never fewer than the last block's. The depth experiments'
    /// models (`RunConfig::blocks`).
    pub fn with_depth(mut self, depth: usize) -> Self {
        while self.blocks.len() > depth {
            self.blocks.pop();
        }
        while self.blocks.len() < depth {
            let Some(last) = self.blocks.last().cloned() else {
                break;
            };
            let before = self
                .blocks
                .len()
                .checked_sub(2)
                .map(|i| self.blocks[i].filters);
            let growth = before.map_or(1, |b| (last.filters / b.max(1)).max(1));
            let filters = (last.filters * growth)
                .min(Self::DEEP_FILTERS)
                .max(last.filters);
            self.blocks.push(BlockConfig { filters, ..last });
        }
        self
    }

    /// The most filters [`Self::with_depth`] gives a block it adds.
    pub const DEEP_FILTERS: usize = 256;
}

impl ModelConfig {
    /// Checks that the architecture can be built.
    pub fn validate(&self) -> Result<()> {
        let rate = |field: &str, r: f64| {
            if (0.0..1.0).contains(&r) {
                Ok(())
            } else {
                Err(Error::config(
                    field,
                    format!("dropout {r} is not in [0, 1)"),
                ))
            }
        };
        if self.num_classes < 2 {
            return Err(Error::config(
                "num_classes",
                "at least 2 classes are needed",
            ));
        }
        // No block at all is a dense network on the inputs (the Intuition step's 2-D points).
        if self.blocks.iter().any(|b| b.filters == 0 || b.convs == 0) {
            return Err(Error::config(
                "blocks",
                "each block needs filters and convs >= 1",
            ));
        }
        if self.blocks.len() > 8 {
            return Err(Error::config(
                "blocks",
                format!("{} blocks: give from 0 to 8", self.blocks.len()),
            ));
        }
        let side = 1 << self.blocks.len();
        if self.input.height < side || self.input.width < side {
            return Err(Error::config(
                "blocks",
                format!(
                    "{} blocks halve {}x{} images below one pixel",
                    self.blocks.len(),
                    self.input.height,
                    self.input.width
                ),
            ));
        }
        if self.dense == 0 {
            return Err(Error::config("dense", "must be at least 1"));
        }
        let NormSettings { momentum, epsilon } = self.norm;
        if !(0.0..=1.0).contains(&momentum) {
            return Err(Error::config(
                "norm.momentum",
                format!("{momentum} is not in [0, 1]"),
            ));
        }
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(Error::config(
                "norm.epsilon",
                format!("{epsilon} is not a finite positive number"),
            ));
        }
        self.blocks
            .iter()
            .try_for_each(|b| rate("blocks.dropout", b.dropout))?;
        rate("dense_dropout", self.dense_dropout)
    }

    /// The weights of the conv kernels and the dense and output matrices (biases and
    /// batch-norm left out): a lower bound of the values a file of this architecture holds, so
    /// that a file's header cannot make the reader build a network larger than the file.
    /// `None` when the count overflows.
    pub fn weight_count(&self) -> Option<usize> {
        let mut count = 0usize;
        let mut channels = self.input.channels;
        for block in &self.blocks {
            // The block's first conv maps `channels` to `filters`, the others `filters` to
            // `filters` (counted without a loop: a header may claim any number of convs).
            let first = channels.checked_mul(block.filters)?;
            let rest = block
                .filters
                .checked_mul(block.filters)?
                .checked_mul(block.convs.saturating_sub(1))?;
            count = count.checked_add(first.checked_add(rest)?.checked_mul(9)?)?;
            channels = block.filters;
        }
        let shrink = 1usize.checked_shl(self.blocks.len() as u32)?;
        let flat = channels
            .checked_mul(self.input.height / shrink)?
            .checked_mul(self.input.width / shrink)?;
        count = count.checked_add(flat.checked_mul(self.dense)?)?;
        count.checked_add(self.dense.checked_mul(self.num_classes)?)
    }
}
