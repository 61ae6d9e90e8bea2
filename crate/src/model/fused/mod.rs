//! The network in inference mode on the CPU, fused (issue 16, point 3): what the attacks' oracle,
//! the evaluations and the benchmark run on flex. Crafting is inference-bound (every query is a
//! forward pass), and burn's generic path pays for each layer separately: an NCHW <-> NHWC copy
//! and an im2col around every convolution's product, then separate passes for bias, ReLU,
//! batch-norm and pooling. Here the activations stay channels-last with a zero border from the
//! first layer to the dense head, so that each convolution reads its input in place (no im2col:
//! [`kernels::Conv3x3::forward`]), its bias goes into the product's output and its ReLU and
//! batch-norm follow in one pass, the buffers are reused from one layer and one batch to the
//! next, and there is no autodiff graph.
//!
//! Images go through in chunks of [`CHUNK`], on all of rayon's threads where there are some (the
//! multi-threaded wasm build and natively); a chunk's numbers do not depend on which thread
//! runs it, so results are the same on any number of threads. They match burn's generic path
//! to float rounding (tests: `crate/tests/fused.rs`), not bit for bit.

mod kernels;
mod norm;
pub mod ops;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;
pub mod training;

use std::cell::RefCell;
use std::mem::MaybeUninit;

use crate::parallel::parallel_chunks;

use burn::prelude::*;

use self::kernels::{Conv3x3, Dense, Epilogue, Padded, max_pool};
use super::Cnn;
use crate::data::ImageShape;
use burn::nn::BatchNorm;

/// Images per unit of work: fixed, so that the split does not depend on the thread count.
pub const CHUNK: usize = 8;

/// One stage of the fused network.
#[derive(Debug, Clone)]
enum Stage {
    /// A convolution with its bias, ReLU and batch-norm.
    Conv(Conv3x3),
    /// 2x2 max-pooling.
    Pool,
}

/// A [`Cnn`]'s weights packed for the fused CPU path.
#[derive(Debug, Clone)]
pub struct FusedCnn {
    input: ImageShape,
    stages: Vec<Stage>,
    dense: Dense,
    output: Dense,
}

/// A chunk's buffers, kept per thread from one call to the next.
#[derive(Default)]
struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

impl FusedCnn {
    /// Packs `model` for images of `input`'s shape when its parameters live on flex (the CPU
    /// backend): `None` on any other backend, where burn's generic path keeps the work on the
    /// device. Reads the weights synchronously, which flex allows everywhere.
    pub fn pack(model: &Cnn, input: ImageShape) -> Option<Self> {
        if model.device() != Device::flex() {
            return None;
        }
        let mut stages = Vec::new();
        let (mut height, mut width) = (input.height, input.width);
        for block in &model.blocks {
            for (i, conv) in block.convs.iter().enumerate() {
                let [c_out, c_in, kh, kw] = conv.weight.dims();
                if [kh, kw] != [3, 3] || conv.stride != [1, 1] || conv.groups != 1 {
                    return None;
                }
                let epilogue = epilogue(
                    conv.bias.as_ref().map(|b| b.val()),
                    c_out,
                    block.norms.get(i),
                );
                stages.push(Stage::Conv(Conv3x3::pack(
                    &values(conv.weight.val()),
                    c_out,
                    c_in,
                    epilogue,
                )));
            }
            stages.push(Stage::Pool);
            (height, width) = (height / 2, width / 2);
        }
        // The dense layer's rows follow burn's NCHW flattening (channel, row, column); the fused
        // activations are NHWC (row, column, channel), so its rows are reordered once here.
        let channels = model
            .blocks
            .last()
            .and_then(|b| b.convs.last())
            .map_or(input.channels, |c| c.weight.dims()[0]);
        let [inputs, outputs] = model.dense.weight.dims();
        let plane = height * width;
        if inputs != channels * plane {
            return None;
        }
        let w = values(model.dense.weight.val());
        let mut weight = vec![0.0; inputs * outputs];
        for c in 0..channels {
            for p in 0..plane {
                let (src, dst) = ((c * plane + p) * outputs, (p * channels + c) * outputs);
                weight[dst..dst + outputs].copy_from_slice(&w[src..src + outputs]);
            }
        }
        let dense = Dense {
            inputs,
            weight,
            epilogue: epilogue(
                model.dense.bias.as_ref().map(|b| b.val()),
                outputs,
                model.dense_norm.as_ref(),
            ),
        };
        let [hidden, classes] = model.output.weight.dims();
        let mut head = epilogue(model.output.bias.as_ref().map(|b| b.val()), classes, None);
        head.relu = false;
        let output = Dense {
            inputs: hidden,
            weight: values(model.output.weight.val()),
            epilogue: head,
        };
        Some(Self {
            input,
            stages,
            dense,
            output,
        })
    }

    /// Output classes.
    pub fn classes(&self) -> usize {
        self.output.epilogue.bias.len()
    }

    /// The logits of `scaled` images (CHW, one after the other, in the model's input range):
    /// `classes()` values per image.
    pub fn logits(&self, scaled: &[f32]) -> Vec<f32> {
        let (len, classes) = (self.input.len(), self.classes());
        let n = scaled.len() / len;
        // SAFETY: `chunk` writes every value of `out`.
        let (logits, _) = unsafe {
            parallel_chunks(n * classes, CHUNK * classes, |i, out| {
                let images = &scaled[i * CHUNK * len..][..out.len() / classes * len];
                SCRATCH.with_borrow_mut(|s| self.chunk(images, out, s))
            })
        };
        logits
    }

    /// One chunk of images through every stage.
    fn chunk(&self, images: &[f32], out: &mut [MaybeUninit<f32>], s: &mut Scratch) {
        let ImageShape {
            channels,
            height,
            width,
        } = self.input;
        let mut shape = Padded {
            images: images.len() / self.input.len(),
            height,
            width,
            channels,
        };
        shape.fill_from_chw(images, &mut s.a);
        for stage in &self.stages {
            match stage {
                Stage::Conv(conv) => {
                    conv.forward(&s.a, shape, &mut s.b);
                    shape.channels = conv.c_out;
                }
                Stage::Pool => shape = max_pool(&s.a, shape, &mut s.b),
            }
            std::mem::swap(&mut s.a, &mut s.b);
        }
        shape.unpad(&s.a, &mut s.b);
        self.dense.forward(&s.b, shape.images, &mut s.a);
        self.output.forward(&s.a, shape.images, &mut s.b);
        out.write_copy_of_slice(&s.b[..out.len()]);
    }
}

/// A tensor's values (flex reads synchronously).
fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("a float tensor reads back as f32")
}

/// The epilogue of a layer with `outputs` outputs: its bias, ReLU, and `norm` as an affine.
fn epilogue(bias: Option<Tensor<1>>, outputs: usize, norm: Option<&BatchNorm>) -> Epilogue {
    let affine = norm.map(|norm| {
        let gamma = values(norm.gamma.val());
        let beta = values(norm.beta.val());
        let mean = values(norm.running_mean.value());
        let var = values(norm.running_var.value());
        let scale: Vec<f32> = gamma
            .iter()
            .zip(&var)
            .map(|(&g, &v)| (f64::from(g) / (f64::from(v) + norm.epsilon).sqrt()) as f32)
            .collect();
        let shift = beta
            .iter()
            .zip(&mean)
            .zip(&scale)
            .map(|((&b, &m), &s)| b - m * s)
            .collect();
        (scale, shift)
    });
    Epilogue {
        bias: bias.map_or_else(|| vec![0.0; outputs], values),
        relu: true,
        affine,
    }
}
