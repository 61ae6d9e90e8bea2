//! Seeded, class-balanced subsets and stratified validation splits.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::Dataset;
use crate::error::{Error, Result, check_count};
use crate::rng;

/// Which part of a split to keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubsetSpec {
    /// The classes kept, by name or index; empty keeps every class. Kept classes are renumbered
    /// in the order given.
    pub classes: Vec<String>,
    /// Images kept per class; `None` keeps them all (no balancing).
    pub per_class: Option<usize>,
    /// The fraction of each class's kept images held out for validation, in `[0, 1)`.
    pub validation: f64,
}

impl Default for SubsetSpec {
    fn default() -> Self {
        Self {
            classes: Vec::new(),
            per_class: None,
            validation: 0.0,
        }
    }
}

/// A subset and its validation split.
#[derive(Debug, Clone)]
pub struct Subset {
    /// The images to train on (or to evaluate, for a test split).
    pub main: Dataset,
    /// The held-out validation images (empty when `validation` is 0).
    pub validation: Dataset,
}

impl SubsetSpec {
    /// Checks the spec's values.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.validation) {
            return Err(Error::config(
                "validation",
                format!(
                    "{} is not allowed: give a fraction from 0 up to (not including) 1",
                    self.validation
                ),
            ));
        }
        if let Some(n) = self.per_class {
            check_count("per_class", n, 1, Self::MAX_PER_CLASS)?;
        }
        check_count("classes", self.classes.len(), 0, Self::MAX_CLASSES)
    }

    /// The most images per class a subset may ask for (more than any supported dataset has).
    pub const MAX_PER_CLASS: usize = 10_000;
    /// The most classes a subset may name (CIFAR-100's fine labels).
    pub const MAX_CLASSES: usize = 100;

    /// Draws the subset from `dataset` with the stream `name` of `seed`.
    pub fn apply(&self, dataset: &Dataset, seed: u64, name: &str) -> Result<Subset> {
        self.validate()?;
        let classes: Vec<usize> = if self.classes.is_empty() {
            (0..dataset.num_classes()).collect()
        } else {
            self.classes
                .iter()
                .map(|c| dataset.class_index(c))
                .collect::<Result<_>>()?
        };
        let mut rng = rng::stream(seed, name);
        let mut by_class = vec![Vec::new(); dataset.num_classes()];
        for (i, &label) in dataset.labels.iter().enumerate() {
            by_class[label as usize].push(i);
        }
        let (mut main, mut validation) = (Vec::new(), Vec::new());
        for &class in &classes {
            let mut indices = std::mem::take(&mut by_class[class]);
            indices.shuffle(&mut rng);
            if let Some(n) = self.per_class {
                if indices.len() < n {
                    return Err(Error::config(
                        "per_class",
                        format!(
                            "{n} images of class {:?} asked for, the split has {}",
                            dataset.class_names[class],
                            indices.len()
                        ),
                    ));
                }
                indices.truncate(n);
            }
            let held = (indices.len() as f64 * self.validation).round() as usize;
            validation.extend_from_slice(&indices[..held]);
            main.extend_from_slice(&indices[held..]);
        }
        // Interleave classes so that file order does not leak into batches.
        main.shuffle(&mut rng);
        validation.shuffle(&mut rng);
        let relabel = |ds: Dataset| relabel(ds, &classes);
        Ok(Subset {
            main: relabel(dataset.select(&main)),
            validation: relabel(dataset.select(&validation)),
        })
    }
}

/// Renumbers labels so that `classes[i]` becomes `i`.
fn relabel(mut ds: Dataset, classes: &[usize]) -> Dataset {
    if classes.iter().copied().eq(0..ds.num_classes()) {
        return ds;
    }
    let mut map = vec![u16::MAX; ds.num_classes()];
    for (new, &old) in classes.iter().enumerate() {
        map[old] = new as u16;
    }
    ds.labels.iter_mut().for_each(|l| *l = map[*l as usize]);
    ds.class_names = classes.iter().map(|&c| ds.class_names[c].clone()).collect();
    ds
}
