//! Monitoring with rollback: after an update the service checks its validation accuracy per
//! class and undoes the update when a class drops more than a normal request of the same size
//! costs it, plus a margin.

/// Per class, the validation accuracy a normal request of a given size costs (measured at
/// calibration), and the margin allowed beyond it.
#[derive(Debug, Clone, PartialEq)]
pub struct Allowance {
    /// Accuracy drop per class that the normal probe request caused (0 where it rose).
    pub normal_drop: Vec<f64>,
    /// Further drop allowed, in accuracy (0.05 is 5 points).
    pub margin: f64,
}

impl Allowance {
    /// The reason to roll back, if a class of `after` (per-class validation accuracy) dropped
    /// from `before` by more than allowed: the class with the largest excess.
    pub fn breach(&self, before: &[f64], after: &[f64], class_names: &[String]) -> Option<String> {
        let excess = |c: usize| (before[c] - after[c]) - (self.normal_drop[c] + self.margin);
        let worst = (0..before.len().min(after.len()).min(self.normal_drop.len()))
            .max_by(|&a, &b| excess(a).total_cmp(&excess(b)))?;
        (excess(worst) > 0.0).then(|| {
            format!(
                "{} fell from {:.1}% to {:.1}% on validation; a normal request of this size \
                 costs {:.1} points, {:.1} more allowed",
                class_names.get(worst).map_or("a class", String::as_str),
                before[worst] * 100.0,
                after[worst] * 100.0,
                self.normal_drop[worst] * 100.0,
                self.margin * 100.0
            )
        })
    }
}
