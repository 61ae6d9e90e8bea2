//! Evaluation: overall and per-class accuracy, the confusion matrix, and class probabilities
//! for a batch (the black-box interface attacks query); [`stealth`] measures crafted images,
//! [`stats`] summarises measurements.

pub mod features;
pub mod stats;
pub mod stealth;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::Result;
use crate::model::inference::{Inference, cross_entropy};
use crate::model::{Cnn, input};

/// The images per forward pass when evaluating.
pub const EVAL_BATCH: usize = crate::model::inference::BATCH;

/// How a model does on a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Images evaluated.
    pub count: usize,
    /// Mean cross-entropy.
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
    /// Accuracy on each class's images (NaN-free: 0 for a class with no image).
    pub per_class: Vec<f64>,
    /// `confusion[true][predicted]` image counts.
    pub confusion: Vec<Vec<u32>>,
    /// The predicted class of every image, in dataset order (not serialised: the confusion
    /// matrix summarises it).
    #[serde(skip)]
    pub predictions: Vec<u16>,
}

impl Evaluation {
    /// Builds the metrics from true labels, predictions and the summed loss.
    pub fn from_predictions(
        labels: &[u16],
        predictions: Vec<u16>,
        classes: usize,
        loss_sum: f64,
    ) -> Self {
        let mut confusion = vec![vec![0u32; classes]; classes];
        for (&t, &p) in labels.iter().zip(&predictions) {
            confusion[t as usize][p as usize] += 1;
        }
        let correct: u32 = (0..classes).map(|c| confusion[c][c]).sum();
        let count = labels.len();
        let ratio = |a: u32, b: u32| {
            if b == 0 {
                0.0
            } else {
                f64::from(a) / f64::from(b)
            }
        };
        Self {
            count,
            loss: if count == 0 {
                0.0
            } else {
                loss_sum / count as f64
            },
            accuracy: ratio(correct, count as u32),
            per_class: (0..classes)
                .map(|c| ratio(confusion[c][c], confusion[c].iter().sum()))
                .collect(),
            confusion,
            predictions,
        }
    }
}

/// Where the test images of one class went after unlearning, among those the model classified
/// correctly before (the shape of the paper's Table V).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// Images of the class correctly classified before unlearning.
    pub correct_before: usize,
    /// Of those, still classified as the class.
    pub kept: usize,
    /// Of those, now classified as class B.
    pub to_b: usize,
    /// Of those, now classified as another class.
    pub elsewhere: usize,
}

impl Shift {
    /// Compares predictions on `labels` before and after, for `class` and target `class_b`.
    pub fn between(
        labels: &[u16],
        before: &[u16],
        after: &[u16],
        class: u16,
        class_b: u16,
    ) -> Self {
        let mut shift = Self {
            correct_before: 0,
            kept: 0,
            to_b: 0,
            elsewhere: 0,
        };
        for ((&l, &b), &a) in labels.iter().zip(before).zip(after) {
            if l != class || b != class {
                continue;
            }
            shift.correct_before += 1;
            match a {
                a if a == class => shift.kept += 1,
                a if a == class_b => shift.to_b += 1,
                _ => shift.elsewhere += 1,
            }
        }
        shift
    }
}

/// Evaluates `model` (in inference mode: [`Inference`]) on every image of `dataset`.
pub async fn evaluate(model: &Cnn, dataset: &Dataset) -> Result<Evaluation> {
    let inference = Inference::new(model, dataset.shape);
    let classes = dataset.num_classes();
    let mut predictions = Vec::with_capacity(dataset.len());
    let mut loss_sum = 0.0;
    let indices: Vec<usize> = (0..dataset.len()).collect();
    for chunk in indices.chunks(EVAL_BATCH) {
        let logits = inference.logits(&input::scaled(dataset, chunk)).await?;
        for (row, &i) in logits.chunks_exact(classes).zip(chunk) {
            loss_sum += cross_entropy(row, usize::from(dataset.labels[i]));
            predictions.push(argmax(row));
        }
    }
    Ok(Evaluation::from_predictions(
        &dataset.labels,
        predictions,
        classes,
        loss_sum,
    ))
}

/// The sum over the batch of the cross-entropy of `logits` against `targets` (evaluation and
/// the unlearning methods share it).
pub fn summed_cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let log_probs = burn::tensor::activation::log_softmax(logits, 1);
    log_probs.gather(1, targets.unsqueeze_dim(1)).sum().neg()
}

/// Class probabilities for the images at `indices` (in inference mode: [`Inference`]):
/// `indices.len()` rows of `num_classes` values.
pub async fn probabilities(model: &Cnn, dataset: &Dataset, indices: &[usize]) -> Result<Vec<f32>> {
    let inference = Inference::new(model, dataset.shape);
    let mut out = Vec::with_capacity(indices.len() * dataset.num_classes());
    for chunk in indices.chunks(EVAL_BATCH) {
        out.extend(
            inference
                .probabilities(&input::scaled(dataset, chunk))
                .await?,
        );
    }
    Ok(out)
}

/// The l2 distance between two networks' tensors (every weight and bias, the batch norms'
/// scales, shifts and running statistics): how far an unlearning request moved the model.
pub async fn parameter_distance(a: &Cnn, b: &Cnn) -> Result<f64> {
    let (a, b) = (Params::of(a), Params::of(b));
    let mut sum = 0.0;
    for (x, y) in a.into_iter().zip(b) {
        let diff = crate::tensor::read_f32((x - y).powi_scalar(2).sum()).await?;
        sum += f64::from(diff[0]);
    }
    Ok(sum.sqrt())
}

/// Every float tensor of a network, flattened, in visiting order.
struct Params(Vec<Tensor<1>>);

impl Params {
    fn of(model: &Cnn) -> Vec<Tensor<1>> {
        let mut params = Self(Vec::new());
        burn::module::Module::visit(model, &mut params);
        params.0
    }
}

impl burn::module::ModuleVisitor for Params {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        self.0.push(param.val().reshape([-1]));
    }
}

/// The class with the highest score in one row of scores (the first one on ties).
pub fn argmax(scores: &[f32]) -> u16 {
    scores
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (j, &v)| {
            if v > best.1 { (j, v) } else { best }
        })
        .0 as u16
}
