//! Training on flex: the loss falls, a seed reproduces a run, the host can cancel, and bad
//! settings are refused before any work.

mod common;

use std::ops::ControlFlow;

use burn::prelude::*;
use overunlearn::data::ImageShape;
use overunlearn::metrics;
use overunlearn::model::{ModelConfig, Preset};
use overunlearn::train::{self, Progress, TrainConfig};

fn tiny() -> ModelConfig {
    let mut config = Preset::Tutorial.config(
        ImageShape {
            channels: 3,
            height: 8,
            width: 8,
        },
        4,
    );
    config.blocks.truncate(2);
    config.dense = 16;
    config
}

fn run(seed: u64, epochs: usize, stop_after: Option<usize>) -> (train::Outcome, Vec<f64>) {
    common::seeded(|| run_alone(seed, epochs, stop_after))
}

fn run_alone(
    seed: u64,
    epochs: usize,
    mut stop_after: Option<usize>,
) -> (train::Outcome, Vec<f64>) {
    let data = common::synthetic(4, 48, 8, 9);
    let val = common::synthetic(4, 8, 8, 10);
    let config = TrainConfig {
        epochs,
        batch_size: 16,
        ..TrainConfig::default()
    };
    let mut losses = Vec::new();
    let outcome = pollster::block_on(train::train(
        &tiny(),
        &config,
        &data,
        &val,
        &Device::flex(),
        seed,
        |p| {
            if let Progress::Step(s) = p {
                losses.push(s.loss);
                assert!(s.images_per_sec > 0.0 && s.step <= s.steps);
            }
            match stop_after.as_mut() {
                Some(0) => ControlFlow::Break(()),
                Some(n) => {
                    *n -= 1;
                    ControlFlow::Continue(())
                }
                None => ControlFlow::Continue(()),
            }
        },
    ))
    .unwrap();
    (outcome, losses)
}

#[test]
fn the_loss_falls_and_the_kept_model_classifies() {
    let (outcome, losses) = run(3, 4, None);
    assert_eq!(outcome.history.len(), 4);
    let first: f64 = losses[..3].iter().sum::<f64>() / 3.0;
    let last: f64 = losses[losses.len() - 3..].iter().sum::<f64>() / 3.0;
    assert!(last < first * 0.7, "loss fell from {first:.3} to {last:.3}");
    let best = &outcome.history[outcome.best_epoch - 1];
    assert!(
        best.best
            && outcome
                .history
                .iter()
                .all(|e| e.val_loss.unwrap() >= best.val_loss.unwrap())
    );
    let test = common::synthetic(4, 10, 8, 11);
    let eval = pollster::block_on(metrics::evaluate(
        &outcome.trained.model,
        &test,
        &Device::flex(),
    ))
    .unwrap();
    assert!(eval.accuracy > 0.6, "test accuracy {}", eval.accuracy);
    assert_eq!(eval.confusion.iter().flatten().sum::<u32>(), 40);
    assert_eq!(eval.per_class.len(), 4);
}

#[test]
fn the_same_seed_gives_the_same_numbers() {
    let (a, la) = run(5, 2, None);
    let (b, lb) = run(5, 2, None);
    let (_, lc) = run(6, 2, None);
    assert_eq!(la, lb);
    assert_eq!(
        a.history.iter().map(|e| e.val_loss).collect::<Vec<_>>(),
        b.history.iter().map(|e| e.val_loss).collect::<Vec<_>>()
    );
    assert_ne!(la, lc, "another seed, another run");
}

#[test]
fn the_host_can_cancel_and_keeps_what_was_trained() {
    let (outcome, losses) = run(1, 5, Some(14));
    assert!(outcome.cancelled);
    assert_eq!(losses.len(), 14, "stopped at the step that said so");
    assert_eq!(
        outcome.history.len(),
        1,
        "the first epoch (12 steps) finished"
    );
}

#[test]
fn bad_settings_are_refused_with_the_field_named() {
    let data = common::synthetic(4, 4, 8, 1);
    let bad = |config: TrainConfig| {
        pollster::block_on(train::train(
            &tiny(),
            &config,
            &data,
            &data,
            &Device::flex(),
            0,
            |_| ControlFlow::Continue(()),
        ))
        .unwrap_err()
        .to_string()
    };
    let e = bad(TrainConfig {
        learning_rate: f64::NAN,
        ..TrainConfig::default()
    });
    assert!(
        e.contains("invalid learning_rate: NaN is not a finite positive number"),
        "{e}"
    );
    let e = bad(TrainConfig {
        batch_size: 0,
        ..TrainConfig::default()
    });
    assert!(e.contains("batch_size"), "{e}");
    let mut wrong = tiny();
    wrong.num_classes = 7;
    let e = pollster::block_on(train::train(
        &wrong,
        &TrainConfig::default(),
        &data,
        &data,
        &Device::flex(),
        0,
        |_| ControlFlow::Continue(()),
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("does not match"), "{e}");
}
