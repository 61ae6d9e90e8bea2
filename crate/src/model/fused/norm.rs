//! Batch-norm in training mode on channels-last activations viewed as `[rows, channels]`
//! (issue 16, point 1): burn's generic batch-norm reduces over every dimension but the second,
//! so on channels-last data it would transpose the activations twice forward and twice
//! backward; here each pass walks the rows as they lie.
//!
//! Rows go in fixed chunks over rayon's threads and per-chunk sums are added in chunk order, so
//! the results are the same bits on any number of threads.

use std::ops::Range;

use crate::parallel::{parallel_chunks, parallel_map};

/// Rows per unit of work: fixed, so that the split does not depend on the thread count.
const ROWS: usize = 4096;

/// Per-channel sums (`width` of them, in f64) that `f(rows, sums)` adds up over a range of rows,
/// chunk by chunk of [`ROWS`] rows, the chunks' sums added in chunk order.
fn channel_sums(
    rows: usize,
    width: usize,
    f: impl Fn(Range<usize>, &mut [f64]) + Sync + Send,
) -> Vec<f64> {
    let chunks: Vec<usize> = (0..rows.div_ceil(ROWS)).collect();
    let partials = parallel_map(chunks, |_, chunk| {
        let mut sums = vec![0.0; width];
        f(chunk * ROWS..((chunk + 1) * ROWS).min(rows), &mut sums);
        sums
    });
    let mut total = vec![0.0; width];
    for p in &partials {
        total.iter_mut().zip(p).for_each(|(t, v)| *t += v);
    }
    total
}

/// The batch's mean and biased variance of each of the `c` channels of `x` (`[rows, c]`):
/// `[mean..., variance...]`.
pub fn moments(x: &[f32], c: usize) -> Vec<f32> {
    let rows = x.len() / c;
    let n = rows.max(1) as f64;
    let mean: Vec<f64> = channel_sums(rows, c, |range, s| {
        for row in x[range.start * c..range.end * c].chunks_exact(c) {
            s.iter_mut().zip(row).for_each(|(s, &v)| *s += f64::from(v));
        }
    })
    .into_iter()
    .map(|s| s / n)
    .collect();
    let var = channel_sums(rows, c, |range, s| {
        for row in x[range.start * c..range.end * c].chunks_exact(c) {
            for ((s, &v), m) in s.iter_mut().zip(row).zip(&mean) {
                let d = f64::from(v) - m;
                *s += d * d;
            }
        }
    });
    mean.iter()
        .map(|&m| m as f32)
        .chain(var.iter().map(|&v| (v / n) as f32))
        .collect()
}

/// `1 / sqrt(variance + epsilon)` per channel from [`moments`]' output.
fn inv_std(moments: &[f32], c: usize, epsilon: f64) -> Vec<f32> {
    moments[c..]
        .iter()
        .map(|&v| (1.0 / (f64::from(v) + epsilon).sqrt()) as f32)
        .collect()
}

/// `(x - mean) / sqrt(variance + epsilon) * gamma + beta` per channel, as one multiply-add.
pub fn normalise(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    moments: &[f32],
    epsilon: f64,
) -> Vec<f32> {
    let c = gamma.len();
    let inv = inv_std(moments, c, epsilon);
    let scale: Vec<f32> = gamma.iter().zip(&inv).map(|(g, i)| g * i).collect();
    let shift: Vec<f32> = (0..c).map(|i| beta[i] - moments[i] * scale[i]).collect();
    // SAFETY: every value of `out` is written (whole rows: the chunks are whole rows).
    let (y, _) = unsafe {
        parallel_chunks(x.len(), ROWS * c, |i, out| {
            let x = &x[i * ROWS * c..][..out.len()];
            for (o, v) in out.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                for ((o, &v), (&scale, &shift)) in o.iter_mut().zip(v).zip(scale.iter().zip(&shift))
                {
                    o.write(v * scale + shift);
                }
            }
        })
    };
    y
}

/// The gradients of [`normalise`] with the batch's own [`moments`] (training mode) given the
/// output's gradient `dy`: `(input, gamma, beta)`.
pub fn normalise_backward(
    x: &[f32],
    gamma: &[f32],
    moments: &[f32],
    epsilon: f64,
    dy: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let c = gamma.len();
    let rows = x.len() / c;
    let inv = inv_std(moments, c, epsilon);
    let mean = &moments[..c];
    // One pass: sum(dy) and sum(dy * xhat) per channel, side by side. (Slices cut to `c` so
    // that the loops run without bounds checks, over the channels in SIMD lanes.)
    let sums = channel_sums(rows, 2 * c, |range, s| {
        let (s_dy, s_dyx) = s.split_at_mut(c);
        let (mean, inv) = (&mean[..c], &inv[..c]);
        let span = range.start * c..range.end * c;
        for (x, dy) in x[span.clone()]
            .chunks_exact(c)
            .zip(dy[span].chunks_exact(c))
        {
            let (s_dy, s_dyx) = (&mut s_dy[..c], &mut s_dyx[..c]);
            for j in 0..c {
                let xhat = (x[j] - mean[j]) * inv[j];
                s_dy[j] += f64::from(dy[j]);
                s_dyx[j] += f64::from(dy[j] * xhat);
            }
        }
    });
    let n = rows.max(1) as f64;
    let beta: Vec<f32> = sums[..c].iter().map(|&s| s as f32).collect();
    let gamma_grad: Vec<f32> = sums[c..].iter().map(|&s| s as f32).collect();
    let mean_dy: Vec<f32> = sums[..c].iter().map(|&s| (s / n) as f32).collect();
    let mean_dyx: Vec<f32> = sums[c..].iter().map(|&s| (s / n) as f32).collect();
    let scale: Vec<f32> = gamma.iter().zip(&inv).map(|(g, i)| g * i).collect();
    let (inv, mean_dy, mean_dyx, scale) = (&inv[..c], &mean_dy[..c], &mean_dyx[..c], &scale[..c]);
    // SAFETY: every value of `out` is written (whole rows: the chunks are whole rows).
    let (dx, _) = unsafe {
        parallel_chunks(x.len(), ROWS * c, |i, out| {
            let at = i * ROWS * c;
            let (x, dy) = (&x[at..at + out.len()], &dy[at..at + out.len()]);
            for ((o, x), dy) in out
                .chunks_exact_mut(c)
                .zip(x.chunks_exact(c))
                .zip(dy.chunks_exact(c))
            {
                let o = &mut o[..c];
                for j in 0..c {
                    let xhat = (x[j] - mean[j]) * inv[j];
                    o[j].write(scale[j] * (dy[j] - mean_dy[j] - xhat * mean_dyx[j]));
                }
            }
        })
    };
    (dx, gamma_grad, beta)
}
