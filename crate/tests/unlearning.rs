//! The unlearning methods against independent computations.

mod common;

use burn::prelude::*;
use overunlearn::data::{Dataset, ImageShape};
use overunlearn::metrics;
use overunlearn::model::file::parse;
use overunlearn::model::{BlockConfig, ModelConfig, NormSettings, Trained};
use overunlearn::training_run::ModelFile;
use overunlearn::training_run::RunConfig;
use overunlearn::unlearn::finetune::{self, SgdSettings};
use overunlearn::unlearn::first_order::{self, FirstOrderConfig, Layers, ServiceKind, Tau};

fn tiny_config() -> ModelConfig {
    ModelConfig {
        input: ImageShape {
            channels: 3,
            height: 4,
            width: 4,
        },
        num_classes: 3,
        blocks: vec![BlockConfig {
            filters: 2,
            convs: 1,
            dropout: 0.0,
        }],
        batch_norm: true,
        norm: NormSettings::SHORT_TRAINING,
        init: overunlearn::model::Init::Burn,
        dense: 4,
        dense_dropout: 0.0,
    }
}

fn tiny(seed: u64) -> Trained {
    let config = tiny_config();
    Trained {
        model: common::fresh_network(&config, seed),
        config,
        class_names: vec!["a".into(), "b".into(), "c".into()],
    }
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    pollster::block_on(f)
}

/// The model's flat parameter values with each value's tensor path.
fn values(model: &Trained) -> (Vec<String>, Vec<f32>, Vec<u8>) {
    let bytes = block(model.to_bytes(&RunConfig::default())).unwrap();
    let (header, values) = parse(&bytes, "x").unwrap();
    let paths = header
        .tensors
        .iter()
        .flat_map(|t| std::iter::repeat_n(t.path.clone(), t.shape.iter().product()))
        .collect();
    (paths, values, bytes)
}

/// The model with value `k` moved by `delta`.
fn nudged(bytes: &[u8], k: usize, delta: f32) -> Trained {
    let mut bytes = bytes.to_vec();
    let header_end = 16 + u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let at = header_end + 4 * k;
    let v = f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) + delta;
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    ModelFile::open(&bytes, &Device::flex(), "nudged")
        .unwrap()
        .trained
}

/// Summed cross-entropy of `data` under `model`, computed by plain inference.
fn summed_loss(model: &Trained, data: &Dataset) -> f64 {
    let eval = block(metrics::evaluate(&model.model, data)).unwrap();
    eval.loss * eval.count as f64
}

/// G(theta) = sum L(z~) - sum L(z): the function whose gradient the update follows.
fn objective(model: &Trained, request: &Dataset, replaced: &Dataset) -> f64 {
    summed_loss(model, replaced) - summed_loss(model, request)
}

/// Checks that `config`'s update of `request` moves every updatable value of the tiny model by
/// -tau times the finite-difference gradient of sum L(replaced) - sum L(request), and nothing
/// else (`sampled`: the tensors checked, every third value of each).
fn check_update(
    config: &FirstOrderConfig,
    request: &Dataset,
    replaced: &Dataset,
    sampled: &[&str],
) {
    let model = tiny(3);
    let tau = 0.5;
    let updated = Trained {
        model: block(first_order::update(&model.model, request, config, tau, 0)).unwrap(),
        ..model.clone()
    };
    let (paths, before, bytes) = values(&model);
    let (_, after, _) = values(&updated);
    // The distance the reports record is the l2 norm of the change in the stored values.
    let moved: f64 = before
        .iter()
        .zip(&after)
        .map(|(b, a)| f64::from(a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    let distance = block(metrics::parameter_distance(&model.model, &updated.model)).unwrap();
    assert!(
        moved > 0.0 && (distance - moved).abs() <= 1e-5 * moved,
        "{distance} vs {moved}"
    );
    let updatable = |p: &str| {
        !p.contains("running")
            && (config.layers == Layers::All
                || ["dense.", "dense_norm.", "output."]
                    .iter()
                    .any(|l| p.starts_with(l)))
    };
    let mut checked = 0;
    for k in 0..before.len() {
        let moved = after[k] - before[k];
        if !updatable(&paths[k]) {
            assert_eq!(moved, 0.0, "{} must not move", paths[k]);
            continue;
        }
        if !sampled.iter().any(|s| paths[k].starts_with(s)) || k % 3 != 0 {
            continue;
        }
        let h = 2e-3;
        let fd = (objective(&nudged(&bytes, k, h), request, replaced)
            - objective(&nudged(&bytes, k, -h), request, replaced))
            / (2.0 * f64::from(h));
        let expected = -tau * fd;
        assert!(
            (f64::from(moved) - expected).abs() < 2e-3 + 0.02 * expected.abs(),
            "{} [{k}]: update moved it by {moved}, finite differences say {expected}",
            paths[k]
        );
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} values checked");
}

fn check_first_order(layers: Layers, sampled: &[&str]) {
    let request = common::synthetic(3, 2, 4, 8);
    let config = FirstOrderConfig {
        tau: Tau::Fixed(1.0),
        service: ServiceKind::Black,
        layers,
        ..FirstOrderConfig::default()
    };
    let replaced = first_order::replacements(&request, ServiceKind::Black, 256, 0);
    assert!(replaced.images.iter().all(|&p| p == 0) && replaced.labels == request.labels);
    check_update(&config, &request, &replaced, sampled);
}

const LAST: [&str; 4] = ["output.", "dense.", "dense_norm.gamma", "dense_norm.beta"];

/// The reference service against its definition, written out by hand: with gradient batches of
/// 2, a request of 3 samples gets one noise image labelled as its third sample (the final,
/// partial batch), a request of 1 gets it for its only sample, a request of 4 none at all; the
/// noise image is one image, the same for every sample it replaces.
#[test]
fn reference_service_counts_the_noise_on_the_final_partial_batch_only() {
    let request = common::synthetic(3, 1, 4, 8); // 3 samples, labels 0, 1, 2
    assert_eq!(request.len(), 3);
    let config = FirstOrderConfig {
        batch_size: 2,
        ..FirstOrderConfig::default()
    };
    assert_eq!(config.service, ServiceKind::Reference);
    let noise = first_order::replacements(&request, ServiceKind::Reference, 4, 0).images;
    assert_eq!(noise.len(), 3 * request.shape.len());
    let image = noise[..request.shape.len()].to_vec();
    assert!(
        noise.chunks(image.len()).all(|c| c == image),
        "one noise image"
    );
    assert!(
        image.iter().any(|&p| p != image[0]),
        "noise, not a flat image"
    );
    let with_noise = |labels: &[u16]| Dataset {
        images: labels.iter().flat_map(|_| image.clone()).collect(),
        labels: labels.to_vec(),
        ..request.select(&[])
    };
    // N = 3, batch 2: the third sample's noise term only.
    let third = with_noise(&request.labels[2..]);
    assert_eq!(
        first_order::replacements(&request, ServiceKind::Reference, 2, 0),
        third
    );
    check_update(&config, &request, &third, &LAST);
    // N = 1, batch 2: the noise term of the only sample.
    let one = request.select(&[1]);
    let single = with_noise(&one.labels);
    check_update(&config, &one, &single, &LAST);
    // N = 4, batch 2: two full batches, no noise term: the plain summed ascent.
    let four = request.select(&[0, 1, 2, 0]);
    let none = first_order::replacements(&four, ServiceKind::Reference, 2, 0);
    assert!(none.is_empty());
    check_update(&config, &four, &none, &LAST);
}

#[test]
fn first_order_update_of_the_last_layers_matches_finite_differences() {
    check_first_order(Layers::Last, &LAST);
}

#[test]
fn first_order_update_of_all_layers_matches_finite_differences() {
    check_first_order(
        Layers::All,
        &["blocks.0.convs", "blocks.0.norms", "output."],
    );
}

#[test]
fn replacements_follow_their_kind_and_seed() {
    let request = common::synthetic(3, 4, 4, 1);
    let rep = |kind, seed| first_order::replacements(&request, kind, 256, seed);
    let noise = rep(ServiceKind::AsWritten, 5);
    assert_eq!(noise, rep(ServiceKind::AsWritten, 5));
    assert_ne!(noise.images, rep(ServiceKind::AsWritten, 6).images);
    assert_eq!(noise.labels, request.labels);
    let size = request.shape.len();
    assert_ne!(noise.images[..size], noise.images[size..2 * size]);
    assert!(rep(ServiceKind::White, 0).images.iter().all(|&p| p == 255));
    assert!(rep(ServiceKind::Removal, 0).is_empty());
    let relabelled = rep(ServiceKind::RandomLabel, 0);
    assert_eq!(relabelled.images, request.images);
    assert!(
        relabelled
            .labels
            .iter()
            .zip(&request.labels)
            .all(|(a, b)| a != b && *a < 3)
    );
    // Smaller than one batch: the reference's one noise image stands for every sample.
    let reference = rep(ServiceKind::Reference, 5);
    assert_eq!(reference.labels, request.labels);
    assert!(
        reference
            .images
            .chunks(size)
            .all(|c| c == &reference.images[..size])
    );
}

#[test]
fn services_read_their_old_names_and_refuse_unknown_ones() {
    let old: FirstOrderConfig = serde_json::from_str(r#"{"replacement": "noise"}"#).unwrap();
    assert_eq!(old.service, ServiceKind::AsWritten);
    let old: FirstOrderConfig = serde_json::from_str(r#"{"replacement": "none"}"#).unwrap();
    assert_eq!(old.service, ServiceKind::Removal);
    let default: FirstOrderConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(default.service, ServiceKind::Reference);
    assert_eq!(default.tau, Tau::Fixed(2e-4));
    assert_eq!(default.batch_size, 256);
    let err = "grey".parse::<ServiceKind>().unwrap_err().to_string();
    assert!(
        err.contains("service") && err.contains("grey") && err.contains("reference"),
        "{err}"
    );
    let zero = FirstOrderConfig {
        batch_size: 0,
        ..FirstOrderConfig::default()
    };
    assert!(
        zero.validate()
            .unwrap_err()
            .to_string()
            .contains("batch_size")
    );
}

fn trained_on_synthetic() -> (Trained, Dataset, Dataset) {
    let train = common::synthetic(3, 40, 4, 2);
    let val = common::synthetic(3, 20, 4, 3);
    (
        common::train_small(&tiny_config(), &train, &val, 3),
        train,
        val,
    )
}

#[test]
fn calibration_finds_the_largest_tau_within_the_budget() {
    // Trained longer than `trained_on_synthetic`'s model, which predicts one class for every
    // validation image (chance level: calibration rightly refuses it, see below).
    let train = common::synthetic(3, 40, 4, 2);
    let val = common::synthetic(3, 20, 4, 3);
    let model = common::train_small(&tiny_config(), &train, &val, 30);
    let probe = train.select(&(0..12).collect::<Vec<_>>());
    let config = FirstOrderConfig {
        service: ServiceKind::AsWritten,
        ..FirstOrderConfig::default()
    };
    let budget = 0.05;
    let c = block(first_order::calibrate(
        &model.model,
        &probe,
        &val,
        &config,
        budget,
        0,
    ))
    .unwrap();
    assert!(c.accuracy_before - c.accuracy_after <= budget, "{c:?}");
    let over = c
        .tried
        .iter()
        .any(|&(t, acc)| t > c.tau && t <= c.tau * 1.1 + 1e-12 && c.accuracy_before - acc > budget);
    assert!(
        over,
        "a tau just above {} must break the budget: {:?}",
        c.tau, c.tried
    );
}

#[test]
fn calibration_on_a_model_at_chance_level_says_so_without_searching() {
    let (model, train, mut val) = trained_on_synthetic();
    // Validation labels shifted by one class: the model is right on none of them.
    for label in &mut val.labels {
        *label = (*label + 1) % 3;
    }
    let probe = train.select(&(0..12).collect::<Vec<_>>());
    let e = block(first_order::calibrate(
        &model.model,
        &probe,
        &val,
        &FirstOrderConfig::default(),
        0.02,
        0,
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("invalid tau") && e.contains("chance level") && e.contains("train it longer"),
        "{e}"
    );
}

#[test]
fn fine_tuning_and_gradient_ascent_move_every_layer_and_raise_the_request_loss() {
    let (model, train, _) = trained_on_synthetic();
    let request = train.select(&(0..30).collect::<Vec<_>>());
    let settings = SgdSettings {
        learning_rate: 0.05,
        epochs: 5,
        batch_size: 8,
    };
    let (paths, before, _) = values(&model);
    let loss_before = summed_loss(&model, &request);
    for (name, out) in [
        (
            "random labels",
            block(finetune::random_labels(
                &model.model,
                &request,
                &settings,
                0,
            ))
            .unwrap(),
        ),
        (
            "gradient ascent",
            block(finetune::gradient_ascent(
                &model.model,
                &request,
                &settings,
                0,
            ))
            .unwrap(),
        ),
    ] {
        let out = Trained {
            model: out,
            ..model.clone()
        };
        let (_, after, _) = values(&out);
        for tensor in [
            "blocks.0.convs.0.weight",
            "dense.weight",
            "output.weight",
            "output.bias",
        ] {
            let moved = (0..before.len()).any(|k| paths[k] == tensor && before[k] != after[k]);
            assert!(moved, "{name}: {tensor} did not move");
        }
        let loss_after = summed_loss(&out, &request);
        assert!(
            loss_after > loss_before,
            "{name}: request loss {loss_before} -> {loss_after}"
        );
    }
}

#[test]
fn retraining_without_a_whole_class_forgets_it_exactly() {
    use overunlearn::unlearn::{Holdings, Method, Request, Service};
    let train = common::synthetic(3, 40, 4, 2);
    let val = common::synthetic(3, 20, 4, 3);
    let training = overunlearn::train::TrainConfig {
        epochs: 20,
        batch_size: 16,
        learning_rate: 0.01,
        ..Default::default()
    };
    let model = common::seeded(|| {
        block(overunlearn::train::train(
            &tiny_config(),
            &training,
            &train,
            &val,
            &Device::flex(),
            1,
            |_| std::ops::ControlFlow::Continue(()),
        ))
    })
    .unwrap()
    .trained;
    let sources: Vec<usize> = (0..train.len()).filter(|&i| train.labels[i] == 2).collect();
    let request = Request {
        submitted: train.select(&sources),
        sources,
        stealth: Vec::new(),
    };
    // The validation images of the forgotten class are left out of the best-checkpoint rule:
    // with them, the lowest validation loss would pick an early epoch, since the forgotten class
    // only gets worse.
    let holdings = Holdings {
        train: &train,
        validation: &val,
        training: &training,
        seed: 1,
    };
    let service = block(Service::open(&model, holdings, &Method::Retrain, 2)).unwrap();
    assert_eq!(service.tau(), None);
    let retrained = common::seeded(|| block(service.unlearn(&model, &request))).unwrap();
    let before = block(metrics::evaluate(&model.model, &val)).unwrap();
    let after = block(metrics::evaluate(&retrained, &val)).unwrap();
    assert!(
        before.per_class.iter().all(|&a| a > 0.8),
        "the model knew every class: {:?}",
        before.per_class
    );
    assert_eq!(
        after.per_class[2], 0.0,
        "never trained on class 2: {:?}",
        after.per_class
    );
    assert!(
        after.per_class[0] > 0.5 && after.per_class[1] > 0.5,
        "{:?}",
        after.per_class
    );
}
