//! Training on flex: the loss falls, a seed reproduces a run, the host can cancel, and bad
//! settings are refused before any work; the benchmark's training warms up for as long as asked.

mod common;

use std::ops::ControlFlow;

use burn::prelude::*;
use overunlearn::backend::BackendKind;
use overunlearn::bench::{self, BenchConfig};
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
    let eval = pollster::block_on(metrics::evaluate(&outcome.trained.model, &test)).unwrap();
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
        e.contains("invalid learning_rate: NaN is not allowed: give a number in (0, 1]"),
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

/// Trains the tiny model with dropout, augmentation and the reference's optimiser for `epochs`
/// from a fresh start, or from `resume`.
fn session_run(epochs: usize, resume: Option<&train::Checkpoint>) -> train::Session {
    let data = common::synthetic(4, 48, 8, 9);
    let val = common::synthetic(4, 8, 8, 10);
    let config = TrainConfig {
        epochs,
        batch_size: 16,
        augment: true,
        optimizer: train::Optimizer::Amsgrad,
        ..TrainConfig::default()
    };
    let device = Device::flex();
    let mut session = match resume {
        Some(checkpoint) => train::Session::resume(checkpoint, &config, &device).unwrap(),
        None => train::Session::new(&tiny(), &config, &data, &device, 4).unwrap(),
    };
    while !session.is_done() {
        pollster::block_on(session.epoch(&data, &val, &device, &mut |_| ControlFlow::Continue(())))
            .unwrap();
    }
    session
}

#[test]
fn two_epochs_resumed_for_a_third_equal_three_epochs_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let (straight, resumed) = common::seeded(|| {
        let straight = pollster::block_on(session_run(3, None).checkpoint()).unwrap();
        let first = pollster::block_on(session_run(2, None).checkpoint()).unwrap();
        first.save(dir.path()).unwrap();
        let loaded = train::Checkpoint::load(dir.path()).unwrap();
        assert_eq!(loaded.state, first.state, "the state reads back as written");
        let resumed = pollster::block_on(session_run(3, Some(&loaded)).checkpoint()).unwrap();
        (straight, resumed)
    });
    let numbers = |c: &train::Checkpoint| {
        c.state
            .history
            .iter()
            .map(|e| (e.train_loss, e.train_accuracy, e.val_loss, e.best))
            .collect::<Vec<_>>()
    };
    assert_eq!(numbers(&resumed), numbers(&straight));
    assert_eq!(resumed.state.order, straight.state.order);
    assert!(resumed.weights == straight.weights, "the weights differ");
    assert!(resumed.best == straight.best, "the kept weights differ");
    // The optimiser's record lists parameters in hash-map order, so its bytes are not compared:
    // the third epoch's weights above depend on every moment it restored.
}

#[test]
fn a_resume_refuses_changed_settings_but_takes_more_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint =
        common::seeded(|| pollster::block_on(session_run(1, None).checkpoint())).unwrap();
    checkpoint.save(dir.path()).unwrap();
    let changed = TrainConfig {
        learning_rate: 0.01,
        ..checkpoint.state.config.clone()
    };
    // Reading a network back draws (and overwrites) fresh weights: take the generator's turn.
    let resume =
        |config| common::seeded(|| train::Session::resume(&checkpoint, config, &Device::flex()));
    let e = resume(&changed).err().unwrap().to_string();
    assert!(
        e.contains("invalid resume: only epochs and patience may change"),
        "{e}"
    );
    let more = TrainConfig {
        epochs: 5,
        ..checkpoint.state.config.clone()
    };
    let session = resume(&more).unwrap();
    assert_eq!(session.epochs_done(), 1);
    assert!(!session.is_done());
}

#[test]
fn the_paper_preset_draws_weights_as_the_reference_keras_layers() {
    use burn::module::{Module, ModuleVisitor, Param};
    struct Bounds(Vec<(Vec<usize>, f32, f32)>);
    impl ModuleVisitor for Bounds {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let dims = t.dims().to_vec();
            let values = t.into_data().try_into_vec::<f32>().unwrap();
            let max = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let mean = values.iter().sum::<f32>() / values.len() as f32;
            self.0.push((dims, max, mean));
        }
    }
    let config = Preset::Paper.config(
        ImageShape {
            channels: 3,
            height: 32,
            width: 32,
        },
        10,
    );
    // Parameters are drawn when first read: init and read while holding the generator.
    let mut bounds = Bounds(Vec::new());
    common::seeded(|| {
        Device::flex().seed(0);
        config.init(&Device::flex()).unwrap().visit(&mut bounds)
    });
    for (dims, max, _) in &bounds.0 {
        let limit = match dims.as_slice() {
            // conv kernels [out, in, 3, 3]: he-uniform, sqrt(6 / (in * 9)).
            [_, inputs, 3, 3] => (6.0 / (inputs * 9) as f32).sqrt(),
            // the dense kernel: he-uniform; the output kernel [512, 10]: glorot-uniform.
            [512, 10] => (6.0 / 522.0f32).sqrt(),
            [inputs, _] => (6.0 / *inputs as f32).sqrt(),
            _ => continue,
        };
        assert!(
            *max <= limit && *max > 0.95 * limit,
            "{dims:?}: largest weight {max}, limit {limit}"
        );
    }
    let conv_biases = bounds.0.iter().filter(|(d, _, _)| d == &vec![128]).count();
    let zero = bounds.0.iter().filter(|(_, max, _)| *max == 0.0).count();
    // zero: 6 conv biases, the dense and output biases, and every batch norm's beta and
    // running mean (7 each).
    assert!(conv_biases >= 6, "{conv_biases} vectors of 128");
    assert_eq!(zero, 6 + 2 + 7 + 7, "zero vectors");
}

#[test]
fn a_run_at_another_depth_keeps_the_presets_blocks_and_grows_the_filters() {
    use overunlearn::training_run::RunConfig;
    let filters = |preset, blocks| {
        let run = RunConfig {
            preset,
            blocks,
            ..RunConfig::default()
        };
        let shape = ImageShape {
            channels: 3,
            height: 32,
            width: 32,
        };
        let config = run.architecture(shape, 10);
        config.validate().unwrap();
        let dropout: Vec<f64> = config.blocks.iter().map(|b| b.dropout).collect();
        assert!(config.blocks.iter().all(|b| b.convs == 2));
        (
            config.blocks.iter().map(|b| b.filters).collect::<Vec<_>>(),
            dropout,
        )
    };
    assert_eq!(filters(Preset::Lab, None).0, [32, 64, 128]);
    assert_eq!(filters(Preset::Lab, Some(3)).0, [32, 64, 128]);
    assert_eq!(filters(Preset::Lab, Some(2)).0, [32, 64]);
    assert_eq!(filters(Preset::Lab, Some(4)).0, [32, 64, 128, 256]);
    let (five, dropout) = filters(Preset::Lab, Some(5));
    assert_eq!(five, [32, 64, 128, 256, 256]);
    assert_eq!(dropout, [0.1, 0.1, 0.2, 0.2, 0.2]);
    assert_eq!(filters(Preset::Paper, Some(5)).0, [128; 5]);
}

/// The benchmark's untimed steps go on until `warmup_seconds` passed (a browser's optimising
/// compiler works during a run's first seconds), and a value that is no number of seconds is
/// refused with the field named.
#[test]
fn the_bench_warms_up_for_the_seconds_asked() {
    let data = common::synthetic(4, 4, 8, 1);
    let config = BenchConfig {
        batch_size: 4,
        warmup: 1,
        warmup_seconds: 0.6,
        steps: 1,
        runs: 1,
        inference_batch: 4,
        inference_batches: 1,
        ..BenchConfig::default()
    };
    // The bench seeds the process-wide generator: it takes its turn like every other run here.
    let measure = |config: &BenchConfig| {
        common::seeded(|| {
            pollster::block_on(bench::bench(
                config,
                &data,
                BackendKind::Flex,
                &Device::flex(),
            ))
        })
    };
    let t = std::time::Instant::now();
    let report = measure(&config).expect("a report");
    assert!(t.elapsed().as_secs_f64() >= 0.6, "{:?}", t.elapsed());
    assert!(report.train_images_per_sec > 0.0);
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let e = measure(&BenchConfig {
            warmup_seconds: bad,
            ..config.clone()
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(&format!(
                "invalid warmup_seconds: {bad} is not allowed: give a number of seconds, 0 or more"
            )),
            "{e}"
        );
    }
}
