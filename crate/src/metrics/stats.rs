//! Small statistics over measured values: means, and how far a rate seen in a few trials can
//! be trusted.

use std::borrow::Borrow;

/// The mean of `values` (0 for none): a slice, a vector or an iterator of numbers.
pub fn mean<T: Borrow<f64>>(values: impl IntoIterator<Item = T>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0usize), |(s, n), v| (s + *v.borrow(), n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// The one-sided upper confidence bound (Clopper-Pearson, exact) on a rate observed as `k`
/// of `n`: the largest rate under which seeing `k` or fewer has probability at least
/// `1 - confidence`.
pub fn upper_bound(k: usize, n: usize, confidence: f64) -> f64 {
    if n == 0 || k >= n {
        return 1.0;
    }
    let tail = 1.0 - confidence;
    // P(X <= k) for X ~ Binomial(n, p) falls as p rises: bisect for P = tail.
    let cdf = |p: f64| -> f64 {
        let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
        let mut ln_choose = 0.0;
        let mut sum = 0.0;
        for i in 0..=k {
            if i > 0 {
                ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
            }
            sum += (ln_choose + i as f64 * ln_p + (n - i) as f64 * ln_q).exp();
        }
        sum
    };
    let (mut lo, mut hi) = (k as f64 / n as f64, 1.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) > tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::upper_bound;

    #[test]
    fn clopper_pearson_upper_bounds() {
        // None of n: 1 - (1 - confidence)^(1/n).
        let none = 1.0 - 0.05f64.powf(1.0 / 500.0);
        assert!((upper_bound(0, 500, 0.95) - none).abs() < 1e-9);
        assert!((upper_bound(0, 20, 0.95) - 0.1391).abs() < 1e-3);
        // One of 20 (R: binom.test(1, 20, alternative = "less")$conf.int[2] = 0.2161).
        assert!((upper_bound(1, 20, 0.95) - 0.2161).abs() < 1e-3);
        assert_eq!(upper_bound(3, 3, 0.95), 1.0);
    }
}
