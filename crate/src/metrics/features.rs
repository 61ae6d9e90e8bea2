//! Where images sit in the model's feature space: the penultimate layer's activations,
//! projected on their first two principal components (fitted once, on the model before any
//! request, so that the points of every model after a request are drawn in the same plane).

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::EVAL_BATCH;
use crate::data::Dataset;
use crate::error::Result;
use crate::model::{Cnn, input};
use crate::tensor::read_f32;

/// Penultimate-layer activations of `model` (inference mode) for every image of `dataset`:
/// `dataset.len()` rows of the dense layer's width.
pub async fn features(model: &Cnn, dataset: &Dataset) -> Result<Vec<f32>> {
    let model = model.valid();
    let device = model.device();
    let indices: Vec<usize> = (0..dataset.len()).collect();
    let mut out = Vec::new();
    for chunk in indices.chunks(EVAL_BATCH) {
        out.extend(read_f32(model.features(input::images(dataset, chunk, &device))).await?);
    }
    Ok(out)
}

/// A plane of principal components: the data's mean and two orthonormal axes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plane {
    mean: Vec<f64>,
    axes: [Vec<f64>; 2],
}

/// Power iterations per component (the projection is a picture, not a decomposition to the
/// last digit).
const ITERATIONS: usize = 100;

impl Plane {
    /// The first two principal components of `rows` (each `width` values); deterministic.
    pub fn fit(rows: &[f32], width: usize) -> Self {
        let n = (rows.len() / width.max(1)).max(1);
        let mut mean = vec![0.0; width];
        for row in rows.chunks(width) {
            mean.iter_mut()
                .zip(row)
                .for_each(|(m, &v)| *m += f64::from(v));
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let centred: Vec<Vec<f64>> = rows
            .chunks(width)
            .map(|row| {
                row.iter()
                    .zip(&mean)
                    .map(|(&v, m)| f64::from(v) - m)
                    .collect()
            })
            .collect();
        let first = principal(&centred, width, None);
        let second = principal(&centred, width, Some(&first));
        Self {
            mean,
            axes: [first, second],
        }
    }

    /// `rows` (each as wide as the fitted ones) as points of the plane.
    pub fn project(&self, rows: &[f32]) -> Vec<[f32; 2]> {
        rows.chunks(self.mean.len().max(1))
            .map(|row| {
                let centred: Vec<f64> = row
                    .iter()
                    .zip(&self.mean)
                    .map(|(&v, m)| f64::from(v) - m)
                    .collect();
                self.axes.each_ref().map(|axis| dot(&centred, axis) as f32)
            })
            .collect()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The leading eigenvector of the rows' covariance (orthogonal to `skip`), by power iteration
/// from a fixed start; its sign chosen so its largest entry is positive.
fn principal(rows: &[Vec<f64>], width: usize, skip: Option<&[f64]>) -> Vec<f64> {
    let mut v: Vec<f64> = (0..width).map(|i| 1.0 + (i % 7) as f64 / 7.0).collect();
    for _ in 0..ITERATIONS {
        if let Some(s) = skip {
            let along = dot(&v, s);
            v.iter_mut().zip(s).for_each(|(x, y)| *x -= along * y);
        }
        let mut next = vec![0.0; width];
        for row in rows {
            let along = dot(row, &v);
            next.iter_mut().zip(row).for_each(|(x, y)| *x += along * y);
        }
        let norm = dot(&next, &next).sqrt();
        if norm == 0.0 {
            return vec![0.0; width];
        }
        v = next.into_iter().map(|x| x / norm).collect();
    }
    let largest = v
        .iter()
        .copied()
        .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
    if largest < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    v
}
