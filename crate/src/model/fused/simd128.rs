//! The fused path's layers in the browser (issue 16, point 2): a layer's whole product, bias
//! and epilogue in one pass over its output, on WebAssembly SIMD128.
//!
//! gemm's wasm kernel vectorises over the rows of the left matrix, so it first copies (packs)
//! the convolution's overlapping input rows into column panels: with the small channel counts
//! of the lab's networks that copy costs about as much as the product. This kernel vectorises
//! over the output channels instead, as XNNPACK's "splat" kernels do: a tile of 4 rows x 8
//! channels keeps 8 accumulators in registers, and each step of the inner dimension loads 8
//! weights (two vectors, contiguous in the packed kernel) and broadcasts one input value per row
//! (contiguous in the input as it lies). No copy of either operand.
//!
//! A product is a sum of segments (a 3x3 convolution's three kernel rows: the same left rows
//! shifted by one image row, the next block of the kernel): the accumulators start at the bias,
//! run through every segment, and are stored once after ReLU and batch-norm's affine, where the
//! portable path makes four passes over the output (bias, three products, epilogue).
//!
//! Every output sums bias then its products in segment and inner-dimension order, on every tile
//! shape, so the split into tiles never changes a value (nor the number of threads).

use core::arch::wasm32::{
    f32x4_add, f32x4_mul, f32x4_pmax, f32x4_splat, v128, v128_load, v128_store,
};

use super::kernels::{Epilogue, Product};

/// Rows of a full tile.
const ROWS: usize = 4;

impl Product<'_> {
    /// `dst[m x n] = epilogue(bias + sum over segments (lhs_s * rhs_s))`, every value written:
    /// the browser's [`Product::run`].
    pub fn run(&self, dst: &mut [f32], epilogue: &Epilogue) {
        product(dst, self, epilogue);
    }
}

/// `dst[m x n] = epilogue(bias + sum over segments (lhs_s * rhs_s))` of `p`, every value
/// written.
fn product(dst: &mut [f32], p: &Product, epilogue: &Epilogue) {
    let (lhs, lhs_rs, rhs, segments, [m, n, k]) = (p.lhs, p.lhs_rs, p.rhs, p.segments, p.shape);
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        dst.len() >= m * n
            && epilogue.bias.len() == n
            && epilogue
                .affine
                .as_ref()
                .is_none_or(|(s, t)| s.len() == n && t.len() == n)
            && segments.iter().all(|&(l, r)| {
                r + k * n <= rhs.len() && (k == 0 || l + (m - 1) * lhs_rs + k <= lhs.len())
            }),
        "the operands hold {} segments of an {m} x {k} by {k} x {n} product",
        segments.len()
    );
    let layer = Layer {
        lhs: lhs.as_ptr(),
        rs: lhs_rs,
        rhs: rhs.as_ptr(),
        n,
        k,
        segments,
        epilogue,
    };
    let mut i = 0;
    while i < m {
        let rows = ROWS.min(m - i);
        let mut j = 0;
        // SAFETY: a tile at row i, column j reads lhs rows i..i + rows of every segment (k
        // values each), rhs columns j..j + 4V of rows 0..k of every segment, the epilogue's
        // columns j..j + 4V, and writes dst's rows i..i + rows, columns j..j + 4V: all inside
        // their slices by the assert above, since i + rows <= m and j + 4V <= n.
        unsafe {
            let d = dst.as_mut_ptr().add(i * n);
            while j + 8 <= n {
                layer.tile::<2>(rows, d, i, j);
                j += 8;
            }
            if j + 4 <= n {
                layer.tile::<1>(rows, d, i, j);
                j += 4;
            }
        }
        for j in j..n {
            for r in 0..rows {
                let mut acc = epilogue.bias[j];
                for &(l, s) in segments {
                    let row = &lhs[l + (i + r) * lhs_rs..][..k];
                    for (p, &a) in row.iter().enumerate() {
                        acc += a * rhs[s + p * n + j];
                    }
                }
                dst[(i + r) * n + j] = finish_one(acc, epilogue, j);
            }
        }
        i += rows;
    }
}

/// The epilogue of one output of column `j`, as [`Epilogue`] applies it.
fn finish_one(v: f32, e: &Epilogue, j: usize) -> f32 {
    let v = if e.relu { v.max(0.0) } else { v };
    match &e.affine {
        Some((scale, shift)) => v * scale[j] + shift[j],
        None => v,
    }
}

/// A layer's operands as raw parts, for the kernels.
struct Layer<'a> {
    lhs: *const f32,
    rs: usize,
    rhs: *const f32,
    n: usize,
    k: usize,
    segments: &'a [(usize, usize)],
    epilogue: &'a Epilogue,
}

/// `acc += x * w`, as mul then add (SIMD128 has no fused multiply-add).
macro_rules! mac {
    ($acc:ident, $x:expr, $w:expr) => {
        $acc = f32x4_add($acc, f32x4_mul($x, $w))
    };
}

// The kernels spell every accumulator out: the wasm build is optimised for size, which leaves
// loops over arrays of accumulators rolled up and the accumulators in memory (measured: half
// the speed of gemm's kernel).
impl Layer<'_> {
    /// The 4 values at `p + at`.
    ///
    /// # Safety
    /// `p + at..p + at + 4` must be inside the allocation `p` points into.
    #[inline(always)]
    unsafe fn load(p: *const f32, at: usize) -> v128 {
        // SAFETY: the caller's (wasm loads need no alignment).
        unsafe { v128_load(p.add(at) as *const v128) }
    }

    /// Column group `j..j + 4`'s bias.
    #[inline(always)]
    fn bias(&self, j: usize) -> v128 {
        let b = &self.epilogue.bias[j..j + 4];
        // SAFETY: the 4 values were just bounds-checked.
        unsafe { Self::load(b.as_ptr(), 0) }
    }

    /// Stores `acc` after the epilogue into `d..d + 4`, column group `j..j + 4`.
    ///
    /// # Safety
    /// `d..d + 4` must be inside `dst`.
    #[inline(always)]
    unsafe fn store(&self, d: *mut f32, j: usize, acc: v128) {
        let mut v = acc;
        if self.epilogue.relu {
            // max(0, v) as f32::max takes it: NaN gives 0.
            v = f32x4_pmax(f32x4_splat(0.0), v);
        }
        if let Some((scale, shift)) = &self.epilogue.affine {
            let (s, t) = (&scale[j..j + 4], &shift[j..j + 4]);
            // SAFETY: the 4 values of each were just bounds-checked.
            unsafe {
                v = f32x4_add(
                    f32x4_mul(v, Self::load(s.as_ptr(), 0)),
                    Self::load(t.as_ptr(), 0),
                )
            };
        }
        // SAFETY: the caller's.
        unsafe { v128_store(d as *mut v128, v) }
    }

    /// A tile of `rows` rows (at most [`ROWS`]) from row `i`, columns `j..j + 4V` (`V` 1 or 2):
    /// full tiles on the 4-row kernels, a rest of rows on the 1-row ones. `d` is row `i` of
    /// `dst`.
    ///
    /// # Safety
    /// See [`product`]: every address the tile reads or writes must be inside its operand.
    #[inline(always)]
    unsafe fn tile<const V: usize>(&self, rows: usize, d: *mut f32, i: usize, j: usize) {
        // SAFETY: forwarded from the caller; row r of the tile is row i + r of dst and lhs.
        unsafe {
            if rows == ROWS {
                if V == 2 {
                    self.rows4x8(d, i, j);
                } else {
                    self.rows4x4(d, i, j);
                }
                return;
            }
            for r in 0..rows {
                let d = d.add(r * self.n);
                if V == 2 {
                    self.row1x8(d, i + r, j);
                } else {
                    self.row1x4(d, i + r, j);
                }
            }
        }
    }

    /// 4 rows by 8 columns: 8 accumulators.
    ///
    /// # Safety
    /// See [`product`].
    unsafe fn rows4x8(&self, d: *mut f32, i: usize, j: usize) {
        let (n, rs) = (self.n, self.rs);
        let (a, b) = (self.bias(j), self.bias(j + 4));
        let (mut a0, mut b0, mut a1, mut b1, mut a2, mut b2, mut a3, mut b3) =
            (a, b, a, b, a, b, a, b);
        // SAFETY: the caller's: rows i..i + 4 of every segment's lhs and of dst, columns
        // j..j + 8 of every segment's rhs and of dst.
        unsafe {
            for &(l, r) in self.segments {
                let (lhs, rhs) = (self.lhs.add(l + i * rs), self.rhs.add(r + j));
                for p in 0..self.k {
                    let (w0, w1) = (Self::load(rhs, p * n), Self::load(rhs, p * n + 4));
                    let x = f32x4_splat(*lhs.add(p));
                    mac!(a0, x, w0);
                    mac!(b0, x, w1);
                    let x = f32x4_splat(*lhs.add(rs + p));
                    mac!(a1, x, w0);
                    mac!(b1, x, w1);
                    let x = f32x4_splat(*lhs.add(2 * rs + p));
                    mac!(a2, x, w0);
                    mac!(b2, x, w1);
                    let x = f32x4_splat(*lhs.add(3 * rs + p));
                    mac!(a3, x, w0);
                    mac!(b3, x, w1);
                }
            }
            for (r, (a, b)) in [(a0, b0), (a1, b1), (a2, b2), (a3, b3)]
                .into_iter()
                .enumerate()
            {
                self.store(d.add(r * n + j), j, a);
                self.store(d.add(r * n + j + 4), j + 4, b);
            }
        }
    }

    /// 4 rows by 4 columns: 4 accumulators.
    ///
    /// # Safety
    /// See [`product`].
    unsafe fn rows4x4(&self, d: *mut f32, i: usize, j: usize) {
        let (n, rs) = (self.n, self.rs);
        let a = self.bias(j);
        let (mut a0, mut a1, mut a2, mut a3) = (a, a, a, a);
        // SAFETY: the caller's: rows i..i + 4 of every segment's lhs and of dst, columns
        // j..j + 4 of every segment's rhs and of dst.
        unsafe {
            for &(l, r) in self.segments {
                let (lhs, rhs) = (self.lhs.add(l + i * rs), self.rhs.add(r + j));
                for p in 0..self.k {
                    let w = Self::load(rhs, p * n);
                    mac!(a0, f32x4_splat(*lhs.add(p)), w);
                    mac!(a1, f32x4_splat(*lhs.add(rs + p)), w);
                    mac!(a2, f32x4_splat(*lhs.add(2 * rs + p)), w);
                    mac!(a3, f32x4_splat(*lhs.add(3 * rs + p)), w);
                }
            }
            for (r, a) in [a0, a1, a2, a3].into_iter().enumerate() {
                self.store(d.add(r * n + j), j, a);
            }
        }
    }

    /// 1 row by 8 columns.
    ///
    /// # Safety
    /// See [`product`].
    unsafe fn row1x8(&self, d: *mut f32, i: usize, j: usize) {
        let n = self.n;
        let (mut a, mut b) = (self.bias(j), self.bias(j + 4));
        // SAFETY: the caller's: row i of every segment's lhs and of dst, columns j..j + 8 of
        // every segment's rhs and of dst.
        unsafe {
            for &(l, r) in self.segments {
                let (lhs, rhs) = (self.lhs.add(l + i * self.rs), self.rhs.add(r + j));
                for p in 0..self.k {
                    let x = f32x4_splat(*lhs.add(p));
                    mac!(a, x, Self::load(rhs, p * n));
                    mac!(b, x, Self::load(rhs, p * n + 4));
                }
            }
            self.store(d.add(j), j, a);
            self.store(d.add(j + 4), j + 4, b);
        }
    }

    /// 1 row by 4 columns.
    ///
    /// # Safety
    /// See [`product`].
    unsafe fn row1x4(&self, d: *mut f32, i: usize, j: usize) {
        let mut a = self.bias(j);
        // SAFETY: the caller's: row i of every segment's lhs and of dst, columns j..j + 4 of
        // every segment's rhs and of dst.
        unsafe {
            for &(l, r) in self.segments {
                let (lhs, rhs) = (self.lhs.add(l + i * self.rs), self.rhs.add(r + j));
                for p in 0..self.k {
                    mac!(a, f32x4_splat(*lhs.add(p)), Self::load(rhs, p * self.n));
                }
            }
            self.store(d.add(j), j, a);
        }
    }
}
