//! The fused path's products in the browser (issue 16, point 2): `dst += lhs * rhs` with the
//! left matrix read in place, on WebAssembly SIMD128.
//!
//! gemm's wasm kernel vectorises over the rows of the left matrix, so it first copies (packs)
//! the convolution's overlapping input rows into column panels: with the small channel counts
//! of the lab's networks that copy costs about as much as the product. This kernel vectorises
//! over the output channels instead, as XNNPACK's "splat" kernels do: a tile of 4 rows x 8
//! channels keeps 8 accumulators in registers, and each step of the inner dimension loads 8
//! weights (two vectors, contiguous in the packed kernel) and broadcasts one input value per row
//! (contiguous in the input as it lies). No copy of either operand.
//!
//! Every output sums its products in inner-dimension order from zero and is then added to
//! `dst`, on every tile shape, so the split of rows and columns never changes a value.

use core::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat, v128, v128_load, v128_store};

/// Rows of a full tile.
const ROWS: usize = 4;

/// `dst[m x n] += lhs[m x k] * rhs[k x n]`: `lhs`'s rows `lhs_rs` apart (they may overlap), its
/// columns adjacent; `rhs` and `dst` row-major.
pub fn matmul_acc(
    dst: &mut [f32],
    (lhs, lhs_rs): (&[f32], usize),
    rhs: &[f32],
    m: usize,
    n: usize,
    k: usize,
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(
        dst.len() >= m * n && rhs.len() >= k * n && (m - 1) * lhs_rs + k <= lhs.len(),
        "the operands hold an {m} x {k} by {k} x {n} product"
    );
    let mut i = 0;
    while i < m {
        let rows = ROWS.min(m - i);
        let mut j = 0;
        // SAFETY: a tile at row i, column j reads lhs rows i..i + rows (k values each from
        // i * lhs_rs), rhs columns j..j + 4V of rows 0..k, and dst's same rows and columns: all
        // inside the slices by the assert above, since i + rows <= m and j + 4V <= n.
        unsafe {
            let (d, a) = (dst.as_mut_ptr().add(i * n), lhs.as_ptr().add(i * lhs_rs));
            while j + 8 <= n {
                tile::<2>(rows, d.add(j), n, a, lhs_rs, rhs.as_ptr().add(j), k);
                j += 8;
            }
            if j + 4 <= n {
                tile::<1>(rows, d.add(j), n, a, lhs_rs, rhs.as_ptr().add(j), k);
                j += 4;
            }
        }
        for j in j..n {
            for r in 0..rows {
                let row = &lhs[(i + r) * lhs_rs..][..k];
                let mut acc = 0.0f32;
                for (p, &a) in row.iter().enumerate() {
                    acc += a * rhs[p * n + j];
                }
                dst[(i + r) * n + j] += acc;
            }
        }
        i += rows;
    }
}

/// A tile of `rows` rows by `4 * V` columns, dispatched to a kernel with the row count fixed
/// at compile time (its accumulators stay in registers).
///
/// # Safety
/// See [`matmul_acc`]: every address the tile reads or writes must be inside its operand.
#[inline(always)]
unsafe fn tile<const V: usize>(
    rows: usize,
    dst: *mut f32,
    n: usize,
    lhs: *const f32,
    lhs_rs: usize,
    rhs: *const f32,
    k: usize,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match rows {
            4 => kernel::<4, V>(dst, n, lhs, lhs_rs, rhs, k),
            3 => kernel::<3, V>(dst, n, lhs, lhs_rs, rhs, k),
            2 => kernel::<2, V>(dst, n, lhs, lhs_rs, rhs, k),
            _ => kernel::<1, V>(dst, n, lhs, lhs_rs, rhs, k),
        }
    }
}

/// `R` rows by `4 * V` columns: `R * V` accumulators, `V` weight vectors and one broadcast
/// input value per step of the inner dimension.
///
/// # Safety
/// See [`matmul_acc`].
#[inline(always)]
unsafe fn kernel<const R: usize, const V: usize>(
    dst: *mut f32,
    n: usize,
    lhs: *const f32,
    lhs_rs: usize,
    rhs: *const f32,
    k: usize,
) {
    let zero = f32x4_splat(0.0);
    let mut acc = [[zero; V]; R];
    // SAFETY: forwarded from the caller (wasm loads and stores need no alignment).
    unsafe {
        for p in 0..k {
            let mut w = [zero; V];
            for (v, w) in w.iter_mut().enumerate() {
                *w = v128_load(rhs.add(p * n + 4 * v) as *const v128);
            }
            for (r, acc) in acc.iter_mut().enumerate() {
                let a = f32x4_splat(*lhs.add(r * lhs_rs + p));
                for (acc, &w) in acc.iter_mut().zip(&w) {
                    *acc = f32x4_add(*acc, f32x4_mul(a, w));
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (v, &acc) in acc.iter().enumerate() {
                let d = dst.add(r * n + 4 * v) as *mut v128;
                v128_store(d, f32x4_add(v128_load(d), acc));
            }
        }
    }
}
