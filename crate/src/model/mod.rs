//! The VGG-style CNN of the paper, configurable in depth and width, with named presets.
//!
//! Each block is `convs` x (3x3 conv, ReLU, batch-norm), then 2x2 max-pool and dropout; then
//! dense, ReLU, batch-norm, dropout and the output layer. Inputs are scaled to [-0.5, 0.5].

mod config;
pub mod dropout;
pub mod file;
pub mod fused;
pub mod inference;
pub mod input;

use burn::module::{Flag, ModuleMapper, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Initializer, Linear, LinearConfig,
    PaddingConfig2d, Relu,
};
use burn::prelude::*;

pub use self::config::{BlockConfig, Init, ModelConfig, NormSettings, Preset};
use crate::error::Result;

impl ModelConfig {
    /// Features entering the dense layer.
    fn flat_features(&self) -> usize {
        let shrink = 1 << self.blocks.len();
        let filters = self
            .blocks
            .last()
            .map_or(self.input.channels, |b| b.filters);
        filters * (self.input.height / shrink) * (self.input.width / shrink)
    }

    /// Builds the network with fresh weights on `device` (seed the device first for a
    /// reproducible initialisation).
    pub fn init(&self, device: &Device) -> Result<Cnn> {
        self.validate()?;
        let norm = |n| {
            self.batch_norm.then(|| {
                BatchNormConfig::new(n)
                    .with_momentum(self.norm.momentum)
                    .with_epsilon(self.norm.epsilon)
                    .init(device)
            })
        };
        let mut channels = self.input.channels;
        let blocks = self
            .blocks
            .iter()
            .map(|b| {
                let mut convs = Vec::new();
                let mut norms = Vec::new();
                for _ in 0..b.convs {
                    let conv = Conv2dConfig::new([channels, b.filters], [3, 3])
                        .with_padding(PaddingConfig2d::Same);
                    convs.push(match self.init {
                        Init::Burn => conv.init(device),
                        Init::Keras => {
                            let mut conv = conv.with_initializer(HE_UNIFORM).init(device);
                            conv.bias = Some(Initializer::Zeros.init([b.filters], device));
                            conv
                        }
                    });
                    norms.extend(norm(b.filters));
                    channels = b.filters;
                }
                ConvBlock {
                    convs,
                    norms,
                    pool: MaxPool2dConfig::new([2, 2]).init(),
                    dropout: DropoutConfig::new(b.dropout).init(),
                }
            })
            .collect();
        let linear = |inputs, outputs, initializer| {
            let config = LinearConfig::new(inputs, outputs);
            match self.init {
                Init::Burn => config.init(device),
                Init::Keras => {
                    let mut linear = config.with_initializer(initializer).init(device);
                    linear.bias = Some(Initializer::Zeros.init([outputs], device));
                    linear
                }
            }
        };
        Ok(Cnn {
            blocks,
            dense: linear(self.flat_features(), self.dense, HE_UNIFORM),
            dense_norm: norm(self.dense),
            dropout: DropoutConfig::new(self.dense_dropout).init(),
            output: linear(self.dense, self.num_classes, GLOROT_UNIFORM),
            activation: Relu::new(),
        })
    }
}

/// Keras's `he_uniform`: U(-sqrt(6 / fan_in), sqrt(6 / fan_in)), burn's kaiming-uniform with
/// gain sqrt(2).
const HE_UNIFORM: Initializer = Initializer::KaimingUniform {
    gain: std::f64::consts::SQRT_2,
    fan_out_only: false,
};

/// Keras's `glorot_uniform`: U(-sqrt(6 / (fan_in + fan_out)), ...), burn's xavier-uniform.
const GLOROT_UNIFORM: Initializer = Initializer::XavierUniform { gain: 1.0 };

/// A convolutional block: conv layers (each followed by ReLU and batch-norm), pooling, dropout.
#[derive(Module, Debug)]
pub struct ConvBlock {
    convs: Vec<Conv2d>,
    norms: Vec<BatchNorm>,
    pool: MaxPool2d,
    dropout: Dropout,
}

/// The network.
#[derive(Module, Debug)]
pub struct Cnn {
    blocks: Vec<ConvBlock>,
    /// The dense layer before the output.
    pub dense: Linear,
    /// The batch-norm after the dense layer.
    pub dense_norm: Option<BatchNorm>,
    dropout: Dropout,
    /// The output layer (logits).
    pub output: Linear,
    activation: Relu,
}

impl Cnn {
    /// Logits for a batch of scaled images `[batch, channels, height, width]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.output
            .forward(dropout::forward(&self.dropout, self.features(images)))
    }

    /// The penultimate layer's activations (the dense layer after its ReLU and batch-norm) for
    /// a batch of scaled images: what the output layer separates. On flex the blocks run
    /// channels-last on the fused operations ([`fused::ops`]), elsewhere on burn's generic ops.
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let flat = if images.device().without_autodiff() == Device::flex() {
            self.blocks_channels_last(images)
        } else {
            self.blocks_generic(images)
        };
        self.head(flat)
    }

    /// [`Self::forward`] on burn's generic ops whatever the backend: what wgpu runs, and the
    /// reference the fused operations are tested against.
    pub fn forward_generic(&self, images: Tensor<4>) -> Tensor<2> {
        let features = self.head(self.blocks_generic(images));
        self.output.forward(self.dropout.forward(features))
    }

    /// The convolutional blocks on burn's ops, NCHW; flattened as burn flattens.
    fn blocks_generic(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = images;
        for block in &self.blocks {
            for (i, conv) in block.convs.iter().enumerate() {
                x = self.activation.forward(conv.forward(x));
                if let Some(norm) = block.norms.get(i) {
                    x = norm.forward(x);
                    fused::ops::settle_running_stats(norm);
                }
            }
            x = block.dropout.forward(block.pool.forward(x));
        }
        x.flatten::<2>(1, 3)
    }

    /// The convolutional blocks channels-last on the fused operations (flex only): the images
    /// turned NHWC once, each conv with its bias and ReLU one operation, batch-norm on the
    /// `[pixels, channels]` view, and the result flattened in burn's NCHW order for the dense
    /// layer.
    fn blocks_channels_last(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = images.permute([0, 2, 3, 1]);
        for block in &self.blocks {
            for (i, conv) in block.convs.iter().enumerate() {
                let bias = match &conv.bias {
                    Some(bias) => bias.val(),
                    None => Tensor::zeros([conv.weight.dims()[0]], &x.device()),
                };
                x = fused::ops::conv3x3_relu(x, conv.weight.val(), bias);
                if let Some(norm) = block.norms.get(i) {
                    let [n, h, w, c] = x.dims();
                    x = fused::ops::batch_norm(norm, x.reshape([n * h * w, c]))
                        .reshape([n, h, w, c]);
                }
            }
            x = dropout::forward(&block.dropout, fused::ops::max_pool2x2(x));
        }
        x.permute([0, 3, 1, 2]).flatten::<2>(1, 3)
    }

    /// The dense layer, its ReLU and batch-norm.
    fn head(&self, flat: Tensor<2>) -> Tensor<2> {
        let mut x = self.activation.forward(self.dense.forward(flat));
        if let Some(norm) = &self.dense_norm {
            x = norm.forward(x);
            fused::ops::settle_running_stats(norm);
        }
        x
    }
}

impl Cnn {
    /// This network on `device`'s autodiff variant, with gradients for every parameter but in
    /// inference mode: batch-norm uses its running statistics and dropout is off. This is the
    /// function the unlearning updates and white-box attacks differentiate.
    pub fn differentiable(&self, device: &Device) -> Cnn {
        struct InferenceFlags;
        impl ModuleMapper for InferenceFlags {
            fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
                flag.with_value(false)
            }
        }
        self.clone()
            .train()
            .fork(&device.clone().autodiff())
            .map(&mut InferenceFlags)
    }

    /// The (plain, non-autodiff) device the network's parameters live on.
    pub fn device(&self) -> Device {
        self.devices()
            .into_iter()
            .next()
            .expect("a network has parameters, so a device")
            .without_autodiff()
    }

    /// The layers the paper's first-order unlearning updates: dense, its batch-norm, output.
    pub fn last_layers(&self) -> (&Linear, Option<&BatchNorm>, &Linear) {
        (&self.dense, self.dense_norm.as_ref(), &self.output)
    }
}

/// A trained network with its architecture and class names: what a model file holds.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The network.
    pub model: Cnn,
    /// Its architecture.
    pub config: ModelConfig,
    /// The names of its output classes.
    pub class_names: Vec<String>,
}
