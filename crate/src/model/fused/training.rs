//! The fused convolution and pooling of training (issue 16, point 1): forward and backward on
//! channels-last activations `[images, height, width, channels]`, the layout the network keeps
//! from its first convolution to its dense head on flex ([`super::ops`]).
//!
//! Every product is a gemm on data read in place, as in inference ([`Conv3x3::forward`]): a chunk
//! of images is copied once into the bordered layout, and then
//! - the forward is the inference kernel with the layer's bias and ReLU as its epilogue;
//! - the input gradient is the same kernel on the (ReLU-masked, bordered) output gradient with
//!   the kernel flipped and its channels swapped: a 3x3 convolution's transpose;
//! - the weight gradient at kernel row `ky` is the bordered input read with rows `c_in` apart
//!   (the forward's left matrix), transposed, times the output gradient: three products an image,
//!   whose border rows contribute nothing because the gradient's border is zero;
//! - the bias gradient is the masked gradient summed per channel.
//!
//! Chunks of [`CHUNK`] images run on rayon's threads; each chunk's weight and bias gradients are
//! summed in chunk order, so the results are the same bits on any number of threads.

use std::cell::RefCell;
use std::mem::MaybeUninit;

use super::CHUNK;
use super::kernels::{Conv3x3, Epilogue, Padded, Strided, gemm_acc};
use crate::parallel::{parallel_chunks, parallel_map};

/// The shapes of a 3x3 same-padded, stride-1 convolution layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Images in the batch.
    pub images: usize,
    /// Rows of each image.
    pub height: usize,
    /// Columns of each image.
    pub width: usize,
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
}

impl ConvShape {
    /// The bordered layout of `images` images with `channels` channels.
    fn padded(&self, images: usize, channels: usize) -> Padded {
        Padded {
            images,
            height: self.height,
            width: self.width,
            channels,
        }
    }

    /// Values of one image with `channels` channels.
    fn image(&self, channels: usize) -> usize {
        self.height * self.width * channels
    }

    /// Chunks of [`CHUNK`] images in the batch.
    fn chunks(&self) -> usize {
        self.images.div_ceil(CHUNK)
    }

    /// The values of chunk `i` of `data`, images of `channels` channels.
    fn chunk<'a>(&self, data: &'a [f32], i: usize, channels: usize) -> &'a [f32] {
        let len = CHUNK * self.image(channels);
        &data[i * len..((i + 1) * len).min(data.len())]
    }
}

/// The gradients of a convolution layer (bias and ReLU included).
#[derive(Debug, Clone)]
pub struct ConvGrads {
    /// Of the input, channels-last, when asked for.
    pub input: Option<Vec<f32>>,
    /// Of the weight, burn's `[c_out, c_in, 3, 3]`.
    pub weight: Vec<f32>,
    /// Of the bias.
    pub bias: Vec<f32>,
}

/// A chunk's buffers, kept per thread from one call to the next.
#[derive(Default)]
struct Scratch {
    input: Vec<f32>,
    output: Vec<f32>,
    grad: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// `relu(conv(x, weight) + bias)` of channels-last `x`, channels-last; `weight` is burn's
/// `[c_out, c_in, 3, 3]`.
pub fn conv_relu(x: &[f32], weight: &[f32], bias: &[f32], s: ConvShape) -> Vec<f32> {
    let epilogue = Epilogue {
        bias: bias.to_vec(),
        relu: true,
        affine: None,
    };
    let conv = Conv3x3::pack(weight, s.c_out, s.c_in, epilogue);
    let image = s.image(s.c_out);
    // SAFETY: `unpad_into` writes every value of `out`.
    let (y, _) = unsafe {
        parallel_chunks(s.images * image, CHUNK * image, |i, out| {
            SCRATCH.with_borrow_mut(|scratch| {
                let shape = s.padded(out.len() / image, s.c_in);
                shape.fill_from_nhwc(s.chunk(x, i, s.c_in), None, &mut scratch.input);
                conv.forward(&scratch.input, shape, &mut scratch.output);
                s.padded(shape.images, s.c_out)
                    .unpad_into(&scratch.output, out);
            })
        })
    };
    y
}

/// The gradients of [`conv_relu`] at `x` with output `y`, given the output's gradient `dy`;
/// the input's only when `input` is set (images need none).
pub fn conv_relu_backward(
    x: &[f32],
    weight: &[f32],
    y: &[f32],
    dy: &[f32],
    s: ConvShape,
    input: bool,
) -> ConvGrads {
    let (c_in, c_out) = (s.c_in, s.c_out);
    // The transpose of the convolution: output channel ci of the flipped kernel reads input
    // channel co at tap 8 - t where the layer reads ci from co at tap t.
    let mut flipped = vec![0.0; weight.len()];
    for co in 0..c_out {
        for ci in 0..c_in {
            for tap in 0..9 {
                flipped[(ci * c_out + co) * 9 + 8 - tap] = weight[(co * c_in + ci) * 9 + tap];
            }
        }
    }
    let none = Epilogue {
        bias: vec![0.0; c_in],
        relu: false,
        affine: None,
    };
    let transposed = Conv3x3::pack(&flipped, c_in, c_out, none);
    let work = |i: usize, dx: Option<&mut [MaybeUninit<f32>]>| {
        SCRATCH.with_borrow_mut(|scratch| {
            let dy = s.chunk(dy, i, c_out);
            let images = dy.len() / s.image(c_out);
            let (from, to) = (s.padded(images, c_in), s.padded(images, c_out));
            to.fill_from_nhwc(dy, Some(s.chunk(y, i, c_out)), &mut scratch.grad);
            from.fill_from_nhwc(s.chunk(x, i, c_in), None, &mut scratch.input);
            let mut bias = vec![0.0; c_out];
            for pixel in scratch.grad.chunks_exact(c_out) {
                bias.iter_mut().zip(pixel).for_each(|(b, g)| *b += g);
            }
            let mut packed = vec![0.0; 9 * c_in * c_out];
            let (row, k) = (s.width + 2, 3 * c_in);
            let m = s.height * row - 2;
            for image in 0..images {
                let base = image * from.pixels();
                let grad = Strided::rows(&scratch.grad[(base + row + 1) * c_out..], c_out);
                for ky in 0..3 {
                    let input = Strided {
                        values: &scratch.input
                            [(base + ky * row) * c_in..(base + from.pixels()) * c_in],
                        rows: 1,
                        cols: c_in,
                    };
                    let dst = &mut packed[ky * k * c_out..(ky + 1) * k * c_out];
                    gemm_acc(dst, input, grad, k, c_out, m);
                }
            }
            if let Some(dx) = dx {
                transposed.forward(&scratch.grad, to, &mut scratch.output);
                from.unpad_into(&scratch.output, dx);
            }
            (packed, bias)
        })
    };
    let (dx, partials) = if input {
        let image = s.image(c_in);
        // SAFETY: `work` writes every value of `dx` (`unpad_into`).
        let (dx, partials) =
            unsafe { parallel_chunks(s.images * image, CHUNK * image, |i, dx| work(i, Some(dx))) };
        (Some(dx), partials)
    } else {
        let chunks = (0..s.chunks()).collect();
        (None, parallel_map(chunks, |i, _| work(i, None)))
    };
    // Summed in chunk order: the same bits whatever thread ran which chunk.
    let mut packed = vec![0.0; 9 * c_in * c_out];
    let mut bias = vec![0.0; c_out];
    for (p, b) in &partials {
        packed.iter_mut().zip(p).for_each(|(a, v)| *a += v);
        bias.iter_mut().zip(b).for_each(|(a, v)| *a += v);
    }
    let mut weight = vec![0.0; packed.len()];
    for co in 0..c_out {
        for ci in 0..c_in {
            for tap in 0..9 {
                weight[(co * c_in + ci) * 9 + tap] = packed[(tap * c_in + ci) * c_out + co];
            }
        }
    }
    ConvGrads {
        input: dx,
        weight,
        bias,
    }
}

/// The four values of each 2x2 window of channels-last `x` (`[height, width, c]` per image,
/// `row` = `width * c` values a row) whose top-left pixel starts at `at`: the window's top-left,
/// top-right, bottom-left and bottom-right pixels, `c` values each.
fn window(x: &[f32], at: usize, row: usize, c: usize) -> [&[f32]; 4] {
    [at, at + c, at + row, at + row + c].map(|o| &x[o..o + c])
}

/// 2x2 max-pooling with stride 2 of channels-last `[images, height, width, channels]` (odd
/// sides lose their last row or column, as burn's pooling does).
pub fn max_pool(x: &[f32], [images, height, width, c]: [usize; 4]) -> Vec<f32> {
    let (h, w) = (height / 2, width / 2);
    // SAFETY: every output pixel's `c` values are written.
    let (y, _) = unsafe {
        parallel_chunks(images * h * w * c, CHUNK * h * w * c, |i, out| {
            for (j, pixel) in out.chunks_exact_mut(c).enumerate() {
                let image = i * CHUNK + j / (h * w);
                let (oy, ox) = (j % (h * w) / w, j % w);
                let at = ((image * height + 2 * oy) * width + 2 * ox) * c;
                let [a, b, d, e] = window(x, at, width * c, c);
                for ch in 0..c {
                    // The first of equals, in burn's order, as `max_pool_backward` picks it.
                    let mut best = a[ch];
                    for v in [b[ch], d[ch], e[ch]] {
                        if v > best {
                            best = v;
                        }
                    }
                    pixel[ch].write(best);
                }
            }
        })
    };
    y
}

/// The gradient of [`max_pool`] at `x` given the output's gradient `dy`: each window's
/// gradient goes to its largest input (the first of equals), the other three get zero, and so
/// do the last row and column of odd sides.
pub fn max_pool_backward(x: &[f32], dy: &[f32], [_, height, width, c]: [usize; 4]) -> Vec<f32> {
    let (h, w) = (height / 2, width / 2);
    let image = height * width * c;
    let row = width * c;
    // SAFETY: every value is written: each window's four pixels below, the rest zeroed first.
    let (dx, _) = unsafe {
        parallel_chunks(x.len(), CHUNK * image, |i, out| {
            let first = i * CHUNK;
            let window_x = &x[first * image..];
            if height % 2 == 1 || width % 2 == 1 {
                out.iter_mut().for_each(|v| {
                    v.write(0.0);
                });
            }
            for local in 0..out.len() / image {
                for oy in 0..h {
                    for ox in 0..w {
                        let at = ((local * height + 2 * oy) * width + 2 * ox) * c;
                        let from = (((first + local) * h + oy) * w + ox) * c;
                        let g = &dy[from..from + c];
                        let [a, b, d, e] = window(window_x, at, row, c);
                        let (top, bottom) = out[at..].split_at_mut(row);
                        let (ta, tb) = top[..2 * c].split_at_mut(c);
                        let (ba, bb) = bottom[..2 * c].split_at_mut(c);
                        for ch in 0..c {
                            // Which of the four is the largest, the first of equals.
                            let (mut best, mut k) = (a[ch], 0);
                            for (n, v) in [b[ch], d[ch], e[ch]].into_iter().enumerate() {
                                if v > best {
                                    (best, k) = (v, n + 1);
                                }
                            }
                            let pick = |n| if k == n { g[ch] } else { 0.0 };
                            ta[ch].write(pick(0));
                            tb[ch].write(pick(1));
                            ba[ch].write(pick(2));
                            bb[ch].write(pick(3));
                        }
                    }
                }
            }
        })
    };
    dx
}
