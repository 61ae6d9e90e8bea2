//! The service's defences decide as they should on hand-made cases: fingerprints, near
//! duplicates, boundary margins, the membership test and monitoring with rollback; and a
//! defended service rejects what they catch.

mod common;

use burn::prelude::*;
use overunlearn::data::Dataset;
use overunlearn::metrics;
use overunlearn::model::{BlockConfig, Cnn, Preset, Trained};
use overunlearn::train::TrainConfig;
use overunlearn::unlearn::defence::fingerprint::{self, Fingerprints};
use overunlearn::unlearn::defence::margin::{self, MembershipTest};
use overunlearn::unlearn::defence::monitor::Allowance;
use overunlearn::unlearn::defence::{Defence, Guard, Verdict};
use overunlearn::unlearn::{Holdings, Method, Request, Service};

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    pollster::block_on(f)
}

/// A small model trained on three learnable synthetic classes, with its data.
fn trained() -> (Trained, Dataset, Dataset) {
    let train = common::synthetic(3, 40, 8, 1);
    let val = common::synthetic(3, 20, 8, 2);
    let mut config = Preset::Tutorial.config(train.shape, 3);
    config.blocks.truncate(2);
    config.blocks[0] = BlockConfig {
        filters: 8,
        ..config.blocks[0].clone()
    };
    config.dense = 16;
    let model = common::train_small(&config, &train, &val, 6);
    (model, train, val)
}

#[test]
fn an_exact_training_image_passes_the_fingerprint_and_one_changed_pixel_does_not() {
    let train = common::synthetic(3, 10, 4, 7);
    let prints = Fingerprints::of(&train);
    let image = train.image(5).to_vec();
    assert!(prints.holds(&image));
    let mut changed = image.clone();
    changed[17] = changed[17].wrapping_add(1);
    assert!(!prints.holds(&changed));
    // The near-duplicate distance: 0 for the image itself, RMS of one changed value otherwise.
    let class = train.labels[5];
    assert_eq!(fingerprint::nearest_distance(&train, class, &image), 0.0);
    let one = fingerprint::nearest_distance(&train, class, &changed);
    assert!(
        one > 0.0 && one <= (1.0 / image.len() as f64).sqrt() + 1e-12,
        "{one}"
    );
    assert_eq!(fingerprint::rms_distance(&image, &changed), one);
    assert_eq!(
        fingerprint::nearest_distance(&train, 9, &image),
        f64::INFINITY,
        "a class without images"
    );
}

#[test]
fn margins_losses_and_thresholds() {
    assert_eq!(margin::margin(&[0.5, 0.5, 0.0]), 0.0);
    assert!((margin::margin(&[0.05, 0.9, 0.05]) - 0.85).abs() < 1e-6);
    assert!((margin::loss(&[0.25, 0.75], 0) - 4f64.ln()).abs() < 1e-6);
    assert_eq!(margin::quantile(&[3.0, 1.0, 2.0, 4.0], 0.5), 3.0);
    // Normal requests of 10 images whose margins are all 0.8 or 0.9 never average below 0.8;
    // a request on the boundary (mean ~0) is far below the threshold.
    let normal: Vec<f64> = (0..100)
        .map(|i| if i % 2 == 0 { 0.8 } else { 0.9 })
        .collect();
    let threshold = margin::mean_margin_threshold(&normal, 10, 0.01, 3);
    assert!((0.8..0.85).contains(&threshold), "{threshold}");
    // The membership test rejects the share of members it was set for, and says how many
    // held-out images it catches.
    let members: Vec<f64> = (0..1000).map(|i| i as f64 / 1000.0).collect();
    let held_out: Vec<f64> = (0..1000).map(|i| 0.5 + i as f64 / 1000.0).collect();
    let test = MembershipTest::calibrate(&members, &held_out, 0.05);
    assert!((test.members_rejected - 0.05).abs() < 0.002, "{test:?}");
    assert!((test.held_out_rejected - 0.55).abs() < 0.002, "{test:?}");
    assert!(test.member(0.1) && !test.member(0.99));
}

#[test]
fn a_rollback_fires_when_a_class_drops_past_its_allowance() {
    let names: Vec<String> = ["airplane", "cat"].map(String::from).to_vec();
    let allowance = Allowance {
        normal_drop: vec![0.04, 0.0],
        margin: 0.05,
    };
    let before = [0.90, 0.80];
    // 8.9 points on airplane: within 4 + 5.
    assert_eq!(allowance.breach(&before, &[0.811, 0.80], &names), None);
    // 9.5 points: past it, and the reason names the class and the numbers.
    let reason = allowance.breach(&before, &[0.805, 0.80], &names).unwrap();
    assert!(
        reason.contains("airplane fell from 90.0% to 80.5%"),
        "{reason}"
    );
    // Cat may not drop by 6 points, as a normal request costs it nothing.
    let reason = allowance.breach(&before, &[0.90, 0.74], &names).unwrap();
    assert!(reason.starts_with("cat"), "{reason}");
}

/// `n` images of class `from` blended toward class `to`'s images just short of where the
/// model's prediction flips (bisection on the blending weight): samples on the boundary.
fn on_the_boundary(model: &Trained, train: &Dataset, from: u16, to: u16, n: usize) -> Dataset {
    let of = |c: u16| (0..train.len()).filter(move |&i| train.labels[i] == c);
    let mut out = train.select(&of(from).take(n).collect::<Vec<_>>());
    let others: Vec<usize> = of(to).take(n).collect();
    for (k, &other) in others.iter().enumerate() {
        let (a, b) = (out.image(k).to_vec(), train.image(other).to_vec());
        let mix = |w: f64| -> Vec<u8> {
            a.iter()
                .zip(&b)
                .map(|(&x, &y)| ((1.0 - w) * f64::from(x) + w * f64::from(y)).round() as u8)
                .collect()
        };
        let predicts_from = |img: &[u8]| {
            let one = Dataset {
                images: img.to_vec(),
                labels: vec![from],
                ..train.clone()
            };
            let p = block(metrics::probabilities(&model.model, &one, &[0])).unwrap();
            metrics::argmax(&p) == from
        };
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..20 {
            let mid = (lo + hi) / 2.0;
            if predicts_from(&mix(mid)) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let size = train.shape.len();
        out.images[k * size..(k + 1) * size].copy_from_slice(&mix(lo));
    }
    out
}

/// The service unlearning with `method` from `model`, defended by `defences`.
fn defended<'a>(
    model: &Trained,
    (train, val): (&'a Dataset, &'a Dataset),
    training: &'a TrainConfig,
    method: &Method,
    defences: &[Defence],
) -> Service<'a> {
    let holdings = Holdings {
        train,
        validation: val,
        training,
        seed: 4,
    };
    let service = block(Service::open(model, holdings, method, 0)).unwrap();
    block(service.defended(model, defences)).unwrap()
}

/// A request submitting `submitted` for the training samples `sources`.
fn request(train: &Dataset, submitted: &Dataset, sources: &[usize]) -> Request {
    let images = (0..submitted.len())
        .map(|k| submitted.image(k).to_vec())
        .collect();
    Request::new(train, sources, images, submitted.labels.clone())
}

#[test]
fn a_defended_service_rejects_what_its_defences_catch_and_accepts_normal_requests() {
    let (model, train, val) = trained();
    let training = TrainConfig::default();
    let method = Method::default();
    let zeros: Vec<usize> = (0..train.len()).filter(|&i| train.labels[i] == 0).collect();
    let normal = request(&train, &train.select(&zeros[..10]), &zeros[..10]);
    let pushed = on_the_boundary(&model, &train, 0, 1, 10);

    // Samples on the boundary have margins near 0; the training images do not.
    let probabilities = |d: &Dataset| {
        let all: Vec<usize> = (0..d.len()).collect();
        block(metrics::probabilities(&model.model, d, &all)).unwrap()
    };
    let mean_margin = |d: &Dataset| {
        let p = probabilities(d);
        p.chunks(3).map(margin::margin).sum::<f64>() / d.len() as f64
    };
    assert!(mean_margin(&pushed) < 0.05, "{}", mean_margin(&pushed));
    assert!(
        mean_margin(&normal.submitted) > 0.3,
        "{}",
        mean_margin(&normal.submitted)
    );

    let data = (&train, &val);
    let fingerprint = defended(&model, data, &training, &method, &[Defence::Fingerprint]);
    let handled = block(fingerprint.handle(&model, &normal)).unwrap();
    assert_eq!(handled.verdict, Verdict::Accepted);
    let handled =
        block(fingerprint.handle(&model, &request(&train, &pushed, &zeros[..10]))).unwrap();
    match &handled.verdict {
        Verdict::Rejected { reason } => assert!(reason.contains("fingerprint"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(handled.checks[0].rejected, 10);

    let screen = [Defence::Boundary {
        false_rejection: 0.01,
    }];
    let boundary = defended(&model, data, &training, &method, &screen);
    let handled = block(boundary.handle(&model, &normal)).unwrap();
    assert_eq!(handled.verdict, Verdict::Accepted, "{:?}", handled.checks);
    let handled = block(boundary.handle(&model, &request(&train, &pushed, &zeros[..10]))).unwrap();
    match &handled.verdict {
        Verdict::Rejected { reason } => assert!(reason.starts_with("boundary"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // A rejected request leaves the model as it was.
    let same = block(metrics::evaluate(&handled.model, &val)).unwrap();
    let before = block(metrics::evaluate(&model.model, &val)).unwrap();
    assert_eq!(same.predictions, before.predictions);
}

#[test]
fn bad_defence_settings_are_named() {
    let (model, train, val) = trained();
    for (defence, field) in [
        (
            Defence::Boundary {
                false_rejection: 0.0,
            },
            "false_rejection",
        ),
        (
            Defence::Membership {
                false_rejection: 0.9,
            },
            "false_rejection",
        ),
        (Defence::NearDuplicate { tolerance: -1.0 }, "tolerance"),
        (Defence::Monitor { margin: 2.0 }, "margin"),
    ] {
        let e = block(Guard::new(&[defence], &model.model, &train, &val, 0)).unwrap_err();
        assert!(e.to_string().contains(field), "{e}");
    }
}

#[test]
fn monitoring_rolls_back_an_update_that_costs_a_class_more_than_a_normal_request() {
    use overunlearn::unlearn::first_order::{FirstOrderConfig, Tau};
    let (model, train, val) = trained();
    let training = TrainConfig::default();
    // A step size at which summed gradients of boundary samples move the model far, and
    // those of confidently classified training images hardly at all.
    let tau = 0.05;
    let method = Method::FirstOrder(FirstOrderConfig {
        tau: Tau::Fixed(tau),
        ..FirstOrderConfig::default()
    });
    let monitor = [Defence::Monitor { margin: 0.1 }];
    let service = defended(&model, (&train, &val), &training, &method, &monitor);
    let zeros: Vec<usize> = (0..train.len()).filter(|&i| train.labels[i] == 0).collect();
    let normal = request(&train, &train.select(&zeros[20..30]), &zeros[20..30]);
    let pushed = request(
        &train,
        &on_the_boundary(&model, &train, 0, 1, 10),
        &zeros[..10],
    );
    let evaluate = |m: &Cnn| block(metrics::evaluate(m, &val)).unwrap();
    let before = evaluate(&model.model).per_class;
    let unlearned = block(service.unlearn(&model, &pushed)).unwrap();
    eprintln!(
        "tau {tau}: class 0 on validation {:.2} before, {:.2} after the pushed request",
        before[0],
        evaluate(&unlearned).per_class[0]
    );
    let handled = block(service.handle(&model, &normal)).unwrap();
    assert_eq!(handled.verdict, Verdict::Accepted, "{:?}", handled.checks);
    let handled = block(service.handle(&model, &pushed)).unwrap();
    match &handled.verdict {
        Verdict::RolledBack { reason } => assert!(reason.starts_with("class0 fell"), "{reason}"),
        other => panic!("{other:?}: {:?}", handled.checks),
    }
    assert_eq!(
        evaluate(&handled.model).predictions,
        evaluate(&model.model).predictions
    );
}

#[test]
fn sisa_deals_every_sample_once_and_retrains_exactly_the_shards_that_held_a_request() {
    use overunlearn::unlearn::sisa::{Layout, Sisa, SisaConfig};
    let config = SisaConfig {
        shards: 3,
        slices: 2,
    };
    let layout = Layout::new(60, config, 9);
    for shard in 0..3 {
        for slice in 0..2 {
            let n = (0..60)
                .filter(|&i| layout.shard[i] == shard && layout.slice[i] == slice)
                .count();
            assert_eq!(n, 10, "shard {shard} slice {slice}");
        }
    }
    let in_shard = |shard, slice| {
        (0..60)
            .find(|&i| layout.shard[i] == shard && layout.slice[i] == slice)
            .unwrap()
    };
    let sources = [in_shard(2, 1), in_shard(0, 1), in_shard(2, 0)];
    assert_eq!(layout.plan(&sources), vec![(0, 1), (2, 0)]);

    let train = common::synthetic(3, 20, 8, 1);
    let val = common::synthetic(3, 5, 8, 2);
    let mut model = Preset::Tutorial.config(train.shape, 3);
    model.blocks.truncate(1);
    model.dense = 8;
    let training = TrainConfig {
        epochs: 1,
        batch_size: 8,
        ..TrainConfig::default()
    };
    let mut sisa = common::seeded(|| {
        block(Sisa::train(
            &model,
            &training,
            config,
            &train,
            &val,
            &Device::flex(),
            5,
        ))
    })
    .unwrap();
    assert_eq!(sisa.layout(), &Layout::new(train.len(), config, 5));
    let weights = |sisa: &Sisa| -> Vec<Vec<f32>> {
        sisa.shard_models()
            .iter()
            .map(|m| {
                let all: Vec<usize> = (0..val.len()).collect();
                block(metrics::probabilities(&m.model, &val, &all)).unwrap()
            })
            .collect()
    };
    let before = weights(&sisa);
    let layout = sisa.layout().clone();
    let held = |shard| (0..train.len()).find(|&i| layout.shard[i] == shard && layout.slice[i] == 1);
    let sources = [held(1).unwrap()];
    let retrained = common::seeded(|| block(sisa.unlearn(&sources, &train, &val))).unwrap();
    assert_eq!(retrained.shards, vec![(1, 1)]);
    assert_eq!(retrained.slice_trainings, 1);
    let after = weights(&sisa);
    assert_eq!(after[0], before[0], "shard 0 held none of the request");
    assert_eq!(after[2], before[2], "shard 2 held none of the request");
    assert_ne!(
        after[1], before[1],
        "shard 1 was trained again without the sample"
    );
    let evaluation = block(sisa.evaluate(&val)).unwrap();
    assert_eq!(evaluation.count, val.len());
}

#[test]
fn the_adaptive_attacker_stops_at_its_margin_floor_and_its_confidence() {
    use overunlearn::attack::adaptive::{self, label_margin};
    use overunlearn::attack::oracle::Oracle;
    use overunlearn::attack::request::{Pushed, SubmittedLabel};
    use overunlearn::attack::search::Crossing;
    let (model, train, _) = trained();
    let zeros: Vec<usize> = (0..train.len()).filter(|&i| train.labels[i] == 0).collect();
    let sources = &zeros[..10];
    let inside = on_the_boundary(&model, &train, 0, 1, 10);
    let pushed = Pushed {
        outcomes: (0..10)
            .map(|k| {
                Ok(Crossing {
                    inside: inside.image(k).to_vec(),
                    outside: inside.image(k).to_vec(),
                    outside_label: 1,
                    queries: 0,
                    seconds: 0.0,
                })
            })
            .collect(),
    };
    let mut oracle = Oracle::new(&model.model, train.shape, 3);
    let margins = |oracle: &mut Oracle, d: &Dataset| -> Vec<f64> {
        let x: Vec<f32> = d.images.iter().map(|&p| f32::from(p) / 255.0).collect();
        let p = block(oracle.query(&x)).unwrap();
        p.chunks(3).map(|row| label_margin(row, 0)).collect()
    };
    let mut means = Vec::new();
    for floor in [0.0, 0.3, 0.6] {
        let request = block(adaptive::floored_pushing(
            &mut oracle,
            &train,
            sources,
            &pushed,
            floor,
            SubmittedLabel::Original,
            1,
        ))
        .unwrap();
        if floor == 0.0 {
            assert_eq!(
                request.submitted.images, inside.images,
                "floor 0 is Pushing-I"
            );
        }
        let m = margins(&mut oracle, &request.submitted);
        assert!(m.iter().all(|&v| v >= floor - 1e-6), "floor {floor}: {m:?}");
        means.push(m.iter().sum::<f64>() / 10.0);
    }
    assert!(means[0] < means[1] && means[1] < means[2], "{means:?}");
    let request = block(adaptive::confident_blending(
        &mut oracle,
        &train,
        sources,
        1,
        0.7,
        SubmittedLabel::Original,
        3,
    ))
    .unwrap();
    let x: Vec<f32> = request
        .submitted
        .images
        .iter()
        .map(|&p| f32::from(p) / 255.0)
        .collect();
    let p = block(oracle.query(&x)).unwrap();
    assert!(p.chunks(3).all(|row| row[0] >= 0.7), "{p:?}");
    assert_ne!(
        request.submitted.images,
        train.select(sources).images,
        "blended"
    );
}

#[test]
fn jpeg_re_encoding_keeps_an_upload_close_to_its_image_but_not_equal() {
    let train = common::synthetic(3, 2, 32, 5);
    let image = train.image(0);
    let upload = overunlearn::defend::reencode::jpeg(image, train.shape, 90).unwrap();
    assert_eq!(upload.len(), image.len());
    let distance = fingerprint::rms_distance(image, &upload);
    assert!(distance > 0.0 && distance < 20.0, "{distance}");
    assert!(!Fingerprints::of(&train).holds(&upload));
}
