//! The fused path's kernels on channels-last (NHWC) activations: a 3x3 same-padded convolution
//! as im2col tiles times a packed kernel (gemm), with bias, ReLU and batch-norm's affine applied
//! to each tile while it is in cache; 2x2 max-pooling; a dense layer with the same epilogue.

/// What follows a layer's matrix product, per output channel: `y = acc + bias`, then ReLU when
/// `relu`, then `y * scale + shift` when batch-norm's affine is present.
#[derive(Debug, Clone)]
pub struct Epilogue {
    /// Added to every output (the layer's bias, zeros without one).
    pub bias: Vec<f32>,
    /// Whether ReLU follows the bias.
    pub relu: bool,
    /// Batch-norm in inference mode as one multiply-add: `gamma / sqrt(var + eps)` and
    /// `beta - mean * scale`.
    pub affine: Option<(Vec<f32>, Vec<f32>)>,
}

impl Epilogue {
    /// Applies the ReLU and the affine to `rows` (each `bias.len()` values) whose bias is
    /// already in.
    fn finish(&self, rows: &mut [f32]) {
        let c = self.bias.len();
        match (&self.affine, self.relu) {
            (Some((scale, shift)), relu) => {
                for row in rows.chunks_exact_mut(c) {
                    for ((v, &s), &t) in row.iter_mut().zip(scale).zip(shift) {
                        let r = if relu { v.max(0.0) } else { *v };
                        *v = r * s + t;
                    }
                }
            }
            (None, true) => rows.iter_mut().for_each(|v| *v = v.max(0.0)),
            (None, false) => {}
        }
    }

    /// Fills `rows` with the bias, one row per output, before the product accumulates into it.
    fn prefill(&self, rows: &mut [f32]) {
        for row in rows.chunks_exact_mut(self.bias.len()) {
            row.copy_from_slice(&self.bias);
        }
    }
}

/// `dst[m x n] += lhs[m x k] * rhs[k x n]`, all row-major and contiguous, on the calling thread.
fn matmul_acc(dst: &mut [f32], lhs: &[f32], rhs: &[f32], m: usize, n: usize, k: usize) {
    assert!(dst.len() >= m * n && lhs.len() >= m * k && rhs.len() >= k * n);
    // SAFETY: the three slices hold at least the m x n, m x k and k x n row-major elements
    // the strides address (asserted above), and `dst` does not alias the inputs (&mut).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            true,
            lhs.as_ptr(),
            1,
            k as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// A 3x3 convolution with same padding and stride 1, its kernel packed as a
/// `[9 * c_in, c_out]` matrix whose row `(ky * 3 + kx) * c_in + ci` holds the weights on input
/// channel `ci` at offset `(ky, kx)`: the order of an im2col row.
#[derive(Debug, Clone)]
pub struct Conv3x3 {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// The packed kernel.
    pub kernel: Vec<f32>,
    /// What follows the product.
    pub epilogue: Epilogue,
}

impl Conv3x3 {
    /// Packs burn's `[c_out, c_in, 3, 3]` weight.
    pub fn pack(weight: &[f32], c_out: usize, c_in: usize, epilogue: Epilogue) -> Self {
        let mut kernel = vec![0.0; 9 * c_in * c_out];
        for co in 0..c_out {
            for ci in 0..c_in {
                for tap in 0..9 {
                    kernel[(tap * c_in + ci) * c_out + co] = weight[(co * c_in + ci) * 9 + tap];
                }
            }
        }
        Self {
            c_in,
            c_out,
            kernel,
            epilogue,
        }
    }

    /// Pixels per im2col tile: about 256 kB of patches, so that a tile and its output stay in
    /// the core's cache between the product and the epilogue.
    fn tile(&self) -> usize {
        (65_536 / (9 * self.c_in)).clamp(32, 1024)
    }

    /// Convolves `images` NHWC images of `height x width` held in `x` into `out` (resized),
    /// with `patches` as scratch.
    pub fn forward(
        &self,
        x: &[f32],
        (images, height, width): (usize, usize, usize),
        out: &mut Vec<f32>,
        patches: &mut Vec<f32>,
    ) {
        let (c_in, c_out, k) = (self.c_in, self.c_out, 9 * self.c_in);
        let pixels = images * height * width;
        out.resize(pixels * c_out, 0.0);
        let tile = self.tile();
        patches.resize(tile * k, 0.0);
        for start in (0..pixels).step_by(tile) {
            let m = tile.min(pixels - start);
            for (p, row) in patches[..m * k].chunks_exact_mut(k).enumerate() {
                let pixel = start + p;
                let (image, y, xx) = (
                    pixel / (height * width),
                    (pixel / width) % height,
                    pixel % width,
                );
                for (tap, dst) in row.chunks_exact_mut(c_in).enumerate() {
                    let (sy, sx) = (y + tap / 3, xx + tap % 3);
                    // (sy, sx) is the source pixel shifted by one: 0 and height + 1 are padding.
                    if sy == 0 || sx == 0 || sy > height || sx > width {
                        dst.fill(0.0);
                    } else {
                        let src = ((image * height + sy - 1) * width + sx - 1) * c_in;
                        dst.copy_from_slice(&x[src..src + c_in]);
                    }
                }
            }
            let dst = &mut out[start * c_out..(start + m) * c_out];
            self.epilogue.prefill(dst);
            matmul_acc(dst, &patches[..m * k], &self.kernel, m, c_out, k);
            self.epilogue.finish(dst);
        }
    }
}

/// 2x2 max-pooling with stride 2 of `images` NHWC images of `height x width x channels` (odd
/// sides lose their last row or column, as burn's pooling does).
pub fn max_pool(
    x: &[f32],
    (images, height, width, channels): (usize, usize, usize, usize),
    out: &mut Vec<f32>,
) {
    let (h, w) = (height / 2, width / 2);
    out.resize(images * h * w * channels, 0.0);
    let at = |image: usize, y: usize, xx: usize| ((image * height + y) * width + xx) * channels;
    for image in 0..images {
        for y in 0..h {
            for xx in 0..w {
                let o = ((image * h + y) * w + xx) * channels;
                let (a, b) = (at(image, 2 * y, 2 * xx), at(image, 2 * y + 1, 2 * xx));
                for c in 0..channels {
                    let top = x[a + c].max(x[a + channels + c]);
                    let bottom = x[b + c].max(x[b + channels + c]);
                    out[o + c] = top.max(bottom);
                }
            }
        }
    }
}

/// A dense layer, its weight `[inputs, outputs]` as burn stores it.
#[derive(Debug, Clone)]
pub struct Dense {
    /// Inputs per row.
    pub inputs: usize,
    /// The weight matrix, row-major `[inputs, outputs]`.
    pub weight: Vec<f32>,
    /// What follows the product (its bias's length is the number of outputs).
    pub epilogue: Epilogue,
}

impl Dense {
    /// `rows` rows of `x` through the layer into `out` (resized).
    pub fn forward(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        let n = self.epilogue.bias.len();
        out.resize(rows * n, 0.0);
        self.epilogue.prefill(out);
        matmul_acc(out, x, &self.weight, rows, n, self.inputs);
        self.epilogue.finish(out);
    }
}
