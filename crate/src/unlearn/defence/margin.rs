//! Screening by what the model says about a sample: the boundary-proximity statistic (the
//! margin between the top two class probabilities) and the loss-threshold membership test.

use rand::Rng;

use crate::rng;

/// The margin between the two highest probabilities of one row: near 0 on the decision
/// boundary, near 1 for a confident prediction.
pub fn margin(probabilities: &[f32]) -> f64 {
    let (mut first, mut second) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for &p in probabilities {
        if p > first {
            second = first;
            first = p;
        } else if p > second {
            second = p;
        }
    }
    if second == f32::NEG_INFINITY {
        return 1.0;
    }
    f64::from(first - second)
}

/// The cross-entropy of one row of probabilities against `label`.
pub fn loss(probabilities: &[f32], label: u16) -> f64 {
    -f64::from(probabilities[label as usize].max(1e-12)).ln()
}

/// The value below which a share `rate` of `values` lies (`values` need not be sorted; the
/// lower empirical quantile).
pub fn quantile(values: &[f64], rate: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((sorted.len() as f64 * rate).floor() as usize).min(sorted.len() - 1);
    sorted[k]
}

/// How many normal requests the boundary threshold is calibrated on.
pub const NORMAL_DRAWS: usize = 1000;

/// The boundary-proximity threshold for requests of `size` samples: the mean margin that only
/// a share `false_rejection` of normal requests fall below, normal requests being `size` of the
/// service's own training images of the class (their `margins`), drawn [`NORMAL_DRAWS`] times
/// with the seed.
pub fn mean_margin_threshold(margins: &[f64], size: usize, false_rejection: f64, seed: u64) -> f64 {
    if margins.is_empty() || size == 0 {
        return 0.0;
    }
    let mut rng = rng::stream(seed, "defence/boundary");
    let means: Vec<f64> = (0..NORMAL_DRAWS)
        .map(|_| {
            let sum: f64 = (0..size)
                .map(|_| margins[rng.random_range(0..margins.len())])
                .sum();
            sum / size as f64
        })
        .collect();
    quantile(&means, false_rejection)
}

/// A calibrated loss-threshold membership test: a sample whose loss is above `threshold` is
/// judged a non-member.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MembershipTest {
    /// Losses above this are judged non-members.
    pub threshold: f64,
    /// Share of the training images judged non-members (the false rejection it was set for).
    pub members_rejected: f64,
    /// Share of the held-out images judged non-members (the test's power).
    pub held_out_rejected: f64,
}

impl MembershipTest {
    /// Calibrates on the losses of training images (`members`) and held-out images so that a
    /// share `false_rejection` of members is rejected.
    pub fn calibrate(members: &[f64], held_out: &[f64], false_rejection: f64) -> Self {
        let threshold = quantile(members, 1.0 - false_rejection);
        let above =
            |v: &[f64]| v.iter().filter(|&&l| l > threshold).count() as f64 / v.len().max(1) as f64;
        Self {
            threshold,
            members_rejected: above(members),
            held_out_rejected: above(held_out),
        }
    }

    /// Whether a sample of `loss` is judged a member.
    pub fn member(&self, loss: f64) -> bool {
        loss <= self.threshold
    }
}
