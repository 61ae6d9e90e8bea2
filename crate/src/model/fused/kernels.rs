//! The fused path's kernels on channels-last (NHWC) activations with a zero border: a 3x3
//! same-padded convolution as three products of the input, read in place, with a packed kernel
//! (gemm), bias prefilled and ReLU and batch-norm's affine applied after; 2x2 max-pooling; a dense
//! layer with the same epilogue.

use std::mem::MaybeUninit;

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
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
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
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    fn prefill(&self, rows: &mut [f32]) {
        for row in rows.chunks_exact_mut(self.bias.len()) {
            row.copy_from_slice(&self.bias);
        }
    }
}

/// A matrix read in place from a slice: element `(i, j)` at `i * rows + j * cols`. Rows may
/// overlap (the convolution reads its input as such a matrix).
#[derive(Debug, Clone, Copy)]
pub struct Strided<'a> {
    /// The values.
    pub values: &'a [f32],
    /// The distance between consecutive rows.
    pub rows: usize,
    /// The distance between consecutive columns.
    pub cols: usize,
}

impl<'a> Strided<'a> {
    /// Row-major rows `rows` apart, columns adjacent.
    pub fn rows(values: &'a [f32], rows: usize) -> Self {
        Self {
            values,
            rows,
            cols: 1,
        }
    }

    /// Whether an `m x n` matrix read this way stays inside the slice.
    fn holds(&self, m: usize, n: usize) -> bool {
        m == 0 || n == 0 || (m - 1) * self.rows + (n - 1) * self.cols < self.values.len()
    }
}

/// `dst[m x n] += lhs[m x k] * rhs[k x n]` on the calling thread, `dst` row-major.
pub fn gemm_acc(dst: &mut [f32], lhs: Strided, rhs: Strided, m: usize, n: usize, k: usize) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(dst.len() >= m * n && lhs.holds(m, k) && rhs.holds(k, n));
    // SAFETY: the asserts above keep every element the strides address inside its slice, and
    // `dst` does not alias the inputs (&mut).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            true,
            lhs.values.as_ptr(),
            lhs.cols as isize,
            lhs.rows as isize,
            rhs.values.as_ptr(),
            rhs.cols as isize,
            rhs.rows as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `dst[m x n] += lhs[m x k] * rhs[k x n]`, `lhs`'s rows `lhs_rs` apart, `rhs` row-major.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn matmul_acc(
    dst: &mut [f32],
    (lhs, lhs_rs): (&[f32], usize),
    rhs: &[f32],
    m: usize,
    n: usize,
    k: usize,
) {
    gemm_acc(
        dst,
        Strided::rows(lhs, lhs_rs),
        Strided::rows(rhs, n),
        m,
        n,
        k,
    );
}

/// A layer's product as a sum of segments: segment `(l, r)`'s left matrix is `lhs[l..]` read
/// `m x k` with rows `lhs_rs` apart (they may overlap: a convolution's input) and columns
/// adjacent, its right matrix `rhs[r..]`, `k x n` row-major. A 3x3 convolution has three (its
/// kernel rows), a dense layer one.
pub struct Product<'a> {
    /// The left matrices' values.
    pub lhs: &'a [f32],
    /// The distance between the left matrices' rows.
    pub lhs_rs: usize,
    /// The right matrices' values.
    pub rhs: &'a [f32],
    /// Each segment's offsets into `lhs` and `rhs`.
    pub segments: &'a [(usize, usize)],
    /// The rows, columns and inner dimension: `[m, n, k]`.
    pub shape: [usize; 3],
}

/// Natively: the bias prefilled, one gemm product a segment, then the epilogue. (In the
/// browser, `run` is our SIMD128 kernel in one pass, in `simd128.rs`.)
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl Product<'_> {
    /// `dst[m x n] = epilogue(bias + sum over segments (lhs_s * rhs_s))`, every value written.
    pub fn run(&self, dst: &mut [f32], epilogue: &Epilogue) {
        let [m, n, k] = self.shape;
        let dst = &mut dst[..m * n];
        epilogue.prefill(dst);
        for &(l, r) in self.segments {
            let rhs = &self.rhs[r..r + k * n];
            matmul_acc(dst, (&self.lhs[l..], self.lhs_rs), rhs, m, n, k);
        }
        epilogue.finish(dst);
    }
}

/// Activations of `images` images of `height x width x channels`, channels-last with a border
/// of one zero pixel around each image: `[images, height + 2, width + 2, channels]`. The border
/// is the convolutions' same padding, so a convolution reads its input without any copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Padded {
    /// Images.
    pub images: usize,
    /// Rows of each image, border excluded.
    pub height: usize,
    /// Columns of each image, border excluded.
    pub width: usize,
    /// Values per pixel.
    pub channels: usize,
}

impl Padded {
    /// Values in the buffer.
    pub fn len(&self) -> usize {
        self.images * self.pixels() * self.channels
    }

    /// Pixels of one image, border included.
    pub fn pixels(&self) -> usize {
        (self.height + 2) * (self.width + 2)
    }

    /// The index of pixel `(y, x)` (border coordinates: 1..=height, 1..=width inside) of `image`.
    fn at(&self, image: usize, y: usize, x: usize) -> usize {
        ((image * (self.height + 2) + y) * (self.width + 2) + x) * self.channels
    }

    /// Zeroes every image's border in `buf`.
    pub fn clear_border(&self, buf: &mut [f32]) {
        let (c, row) = (self.channels, (self.width + 2) * self.channels);
        for image in buf[..self.len()].chunks_exact_mut(self.pixels() * c) {
            image[..row].fill(0.0);
            image[(self.height + 1) * row..].fill(0.0);
            for y in 1..=self.height {
                image[y * row..y * row + c].fill(0.0);
                image[(y + 1) * row - c..(y + 1) * row].fill(0.0);
            }
        }
    }

    /// Fills `out` (resized) with CHW images (one after the other), bordered channels-last.
    pub fn fill_from_chw(&self, images: &[f32], out: &mut Vec<f32>) {
        out.resize(self.len(), 0.0);
        self.clear_border(out);
        let (c, plane) = (self.channels, self.height * self.width);
        for (image, src) in images.chunks_exact(c * plane).enumerate() {
            for y in 0..self.height {
                for x in 0..self.width {
                    let dst = self.at(image, y + 1, x + 1);
                    for (ch, v) in out[dst..dst + c].iter_mut().enumerate() {
                        *v = src[ch * plane + y * self.width + x];
                    }
                }
            }
        }
    }

    /// Fills `out` (resized) with channels-last images `[images, height, width, channels]`,
    /// bordered, each value multiplied by `mask`'s `> 0` when given (ReLU's derivative).
    pub fn fill_from_nhwc(&self, images: &[f32], mask: Option<&[f32]>, out: &mut Vec<f32>) {
        out.resize(self.len(), 0.0);
        self.clear_border(out);
        let row = self.width * self.channels;
        for (r, src) in images.chunks_exact(row).enumerate() {
            let dst = self.at(r / self.height, r % self.height + 1, 1);
            let dst = &mut out[dst..dst + row];
            match mask {
                None => dst.copy_from_slice(src),
                Some(mask) => {
                    let mask = &mask[r * row..(r + 1) * row];
                    for ((d, &s), &m) in dst.iter_mut().zip(src).zip(mask) {
                        *d = if m > 0.0 { s } else { 0.0 };
                    }
                }
            }
        }
    }

    /// The images without their border into `out` (`[images, height, width, channels]`: every
    /// value of it written).
    pub fn unpad_into(&self, buf: &[f32], out: &mut [MaybeUninit<f32>]) {
        let row = self.width * self.channels;
        assert_eq!(out.len() % row, 0, "whole rows");
        for (r, dst) in out.chunks_exact_mut(row).enumerate() {
            let from = self.at(r / self.height, r % self.height + 1, 1);
            dst.write_copy_of_slice(&buf[from..from + row]);
        }
    }

    /// The images without their border, `[images, height, width, channels]`, into `out`.
    pub fn unpad(&self, buf: &[f32], out: &mut Vec<f32>) {
        let len = self.images * self.height * self.width * self.channels;
        out.clear();
        out.reserve(len);
        self.unpad_into(buf, &mut out.spare_capacity_mut()[..len]);
        // SAFETY: `unpad_into` wrote all `len` values (whole rows: `len` is a multiple of one).
        unsafe { out.set_len(len) };
    }
}

/// A 3x3 convolution with same padding and stride 1, its kernel packed as three
/// `[3 * c_in, c_out]` matrices, one per kernel row `ky`, whose row `kx * c_in + ci` holds the
/// weights on input channel `ci` at `(ky, kx)`: the order of three neighbouring pixels in a
/// channels-last row.
#[derive(Debug, Clone)]
pub struct Conv3x3 {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// The packed kernel, `[3][3 * c_in][c_out]`.
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
                // Tap `ky * 3 + kx`: kernel row ky's matrix, its row `kx * c_in + ci`.
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

    /// Convolves the bordered images `x` of shape `shape` into `out` (resized, bordered).
    ///
    /// No im2col: with an image's pixels numbered in the bordered layout, output pixel `p` at
    /// kernel row `ky` needs the `3 * c_in` values from input pixel `p + ky * (width + 2)` on,
    /// contiguous; so the input read with rows `c_in` apart is the product's left matrix as it
    /// lies, and three products (one per `ky`) accumulate the output, written straight into the
    /// interior of `out`. The rows that straddle a border column compute garbage that lands on
    /// the output's border, which is zeroed after the epilogue.
    pub fn forward(&self, x: &[f32], shape: Padded, out: &mut Vec<f32>) {
        let (c_in, c_out, k) = (self.c_in, self.c_out, 3 * self.c_in);
        let to = Padded {
            channels: c_out,
            ..shape
        };
        out.resize(to.len(), 0.0);
        // Image by image, from the first inside pixel to the last: only the two border columns
        // between rows are computed for nothing.
        let row = shape.width + 2;
        let m = shape.height * row - 2;
        let segments = [0, 1, 2].map(|ky| (ky * row * c_in, ky * k * c_out));
        for image in 0..shape.images {
            let base = image * shape.pixels();
            let dst = &mut out[(base + row + 1) * c_out..(base + row + 1 + m) * c_out];
            let lhs = &x[base * c_in..(base + shape.pixels()) * c_in];
            let product = Product {
                lhs,
                lhs_rs: c_in,
                rhs: &self.kernel,
                segments: &segments,
                shape: [m, c_out, k],
            };
            product.run(dst, &self.epilogue);
        }
        to.clear_border(out);
    }
}

/// 2x2 max-pooling with stride 2 of bordered images of `shape` into `out` (bordered; odd sides
/// lose their last row or column, as burn's pooling does). Returns the output's shape.
pub fn max_pool(x: &[f32], shape: Padded, out: &mut Vec<f32>) -> Padded {
    let to = Padded {
        height: shape.height / 2,
        width: shape.width / 2,
        ..shape
    };
    let c = shape.channels;
    out.resize(to.len(), 0.0);
    to.clear_border(out);
    for image in 0..shape.images {
        for y in 0..to.height {
            for xx in 0..to.width {
                let o = to.at(image, y + 1, xx + 1);
                let a = shape.at(image, 2 * y + 1, 2 * xx + 1);
                let b = shape.at(image, 2 * y + 2, 2 * xx + 1);
                for ch in 0..c {
                    let top = x[a + ch].max(x[a + c + ch]);
                    let bottom = x[b + ch].max(x[b + c + ch]);
                    out[o + ch] = top.max(bottom);
                }
            }
        }
    }
    to
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
        let product = Product {
            lhs: x,
            lhs_rs: self.inputs,
            rhs: &self.weight,
            segments: &[(0, 0)],
            shape: [rows, n, self.inputs],
        };
        product.run(out, &self.epilogue);
    }
}
