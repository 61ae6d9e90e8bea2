//! The lab's pipeline as every host drives it: load -> train -> craft -> unlearn, and what a new
//! config keeps (the one invalidation point).

mod common;

use burn::prelude::Device;
use overunlearn::attack::crossings::Crossings;
use overunlearn::backend::BackendKind;
use overunlearn::data::{DataSource, Files};
use overunlearn::experiment::{Attack, ExperimentConfig, ExperimentReport};
use overunlearn::model::Preset;
use overunlearn::pipeline::{Pipeline, Stage};
use overunlearn::training_run::RunConfig;
use overunlearn::unlearn::Method;
use overunlearn::unlearn::defence::{Defence, Verdict};
use overunlearn::unlearn::finetune::SgdSettings;
use overunlearn::unlearn::first_order::{FirstOrderConfig, Tau};

/// A small experiment on the CIFAR-10 folder written by [`common::write_cifar10`].
fn small_config() -> ExperimentConfig {
    let mut config = ExperimentConfig {
        run: RunConfig {
            preset: Preset::Tutorial,
            ..RunConfig::default()
        },
        percentages: vec![20.0],
        attacks: vec![Attack::PushingI { targeted: false }],
        method: Method::FirstOrder(FirstOrderConfig {
            tau: Tau::Fixed(1e-4),
            ..FirstOrderConfig::default()
        }),
        ..ExperimentConfig::default()
    };
    config.run.train.epochs = 1;
    config.push.query_budget = 300;
    config.push.walk.iterations = 0;
    config
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    pollster::block_on(f)
}

/// Crafts and unlearns the current config; returns the report's rows as (attack, accuracy).
fn craft_and_unlearn(p: &mut Pipeline) -> Vec<(Attack, f64)> {
    common::seeded(|| {
        block(p.craft(&mut Crossings::default(), |_| Ok(()), &mut |_| {})).unwrap();
    });
    assert_eq!(p.stage(), Stage::Crafted);
    let report = block(p.unlearn(&mut |_| {})).unwrap();
    feature_view_matches_the_confusion_matrices(report);
    report
        .rows
        .iter()
        .map(|r| (r.attack.clone(), r.accuracy))
        .collect()
}

/// The feature view shows class A's test images, each coloured by the prediction the row's
/// confusion matrix counts, and every submitted sample.
fn feature_view_matches_the_confusion_matrices(report: &ExperimentReport) {
    let view = report.features.as_ref().expect("a feature view");
    let a = report
        .class_names
        .iter()
        .position(|c| *c == report.config.class_a)
        .unwrap();
    assert_eq!(
        view.test_indices.len(),
        report.before.confusion[a].iter().sum::<u32>() as usize
    );
    assert_eq!(view.before.len(), view.test_indices.len());
    let counts = |predicted: &[u16]| {
        let mut c = vec![0u32; report.class_names.len()];
        predicted.iter().for_each(|&p| c[p as usize] += 1);
        c
    };
    assert_eq!(counts(&view.predicted), report.before.confusion[a]);
    for row in &report.rows {
        let f = row.features.as_ref().expect("row features");
        assert_eq!(counts(&f.predicted), row.confusion[a], "{}", row.title);
        assert_eq!(f.points.len(), view.test_indices.len());
        assert_eq!(f.submitted.len(), row.stats.size);
        assert!(f.points.iter().flatten().all(|v| v.is_finite()));
    }
}

#[test]
fn the_pipeline_keeps_what_a_new_config_leaves_valid() {
    let dir = tempfile::tempdir().unwrap();
    common::write_cifar10(dir.path(), 1, 200, 100);
    let source = DataSource::from_path(dir.path());
    let mut p = Pipeline::new(BackendKind::Flex, Device::flex(), source);
    assert_eq!(p.stage(), Stage::Empty);

    // load -> train -> craft -> unlearn
    let config = small_config();
    assert_eq!(p.configure(config.clone()).unwrap(), Stage::Configured);
    let e = block(p.unlearn(&mut |_| {})).unwrap_err().to_string();
    assert!(e.contains("not loaded yet"), "{e}");
    let summary = p.load().unwrap();
    assert_eq!(summary.classes.len(), 10);
    assert_eq!(summary.train + summary.validation, 200);
    assert_eq!(p.stage(), Stage::Loaded);
    let e = block(p.unlearn(&mut |_| {})).unwrap_err().to_string();
    assert!(e.contains("train or import one first"), "{e}");
    common::seeded(|| block(p.train(|_| std::ops::ControlFlow::Continue(()))).unwrap());
    assert_eq!(p.stage(), Stage::Trained);
    let e = block(p.unlearn(&mut |_| {})).unwrap_err().to_string();
    assert!(e.contains("craft them first"), "{e}");
    let rows = craft_and_unlearn(&mut p);
    assert_eq!(p.stage(), Stage::Unlearned);
    assert_eq!(rows.len(), 2, "normal and Pushing-I: {rows:?}");

    // The same config again keeps everything.
    assert_eq!(p.configure(config.clone()).unwrap(), Stage::Unlearned);

    // Only the method changes: the crafted requests are kept for the new service.
    let crafted = p.crafted().unwrap().requests[1].request.submitted.clone();
    let fine_tune = ExperimentConfig {
        method: Method::FineTune(SgdSettings::default()),
        ..config.clone()
    };
    assert_eq!(p.configure(fine_tune).unwrap(), Stage::Crafted);
    assert_eq!(p.crafted().unwrap().requests[1].request.submitted, crafted);
    block(p.unlearn(&mut |_| {})).unwrap();
    assert!(p.report().unwrap().config.method == Method::FineTune(SgdSettings::default()));

    // The service's defences switched on: the same requests meet the defended service.
    let defended = ExperimentConfig {
        defences: vec![Defence::Fingerprint],
        ..config.clone()
    };
    assert_eq!(p.configure(defended).unwrap(), Stage::Crafted);
    assert_eq!(p.crafted().unwrap().requests[1].request.submitted, crafted);
    block(p.unlearn(&mut |_| {})).unwrap();
    // (This tiny model's pushes all fail, so both requests hold training images and pass;
    // the fingerprints' decisions are tested in tests/defences.rs.)
    for row in &p.report().unwrap().rows {
        assert_eq!(row.verdict, Some(Verdict::Accepted), "{}", row.title);
        assert_eq!(row.checks[0].defence, "fingerprint");
        assert_eq!(
            row.checks[0].rejected, row.stats.crafted,
            "{:?}",
            row.checks
        );
    }

    // Another class A: the requests are dropped, the model kept.
    let class_a = ExperimentConfig {
        class_a: "ship".into(),
        ..config.clone()
    };
    assert_eq!(p.configure(class_a.clone()).unwrap(), Stage::Trained);
    craft_and_unlearn(&mut p);

    // Another training setting: the model is dropped, the data kept.
    let mut longer = class_a.clone();
    longer.run.train.epochs = 2;
    assert_eq!(p.configure(longer).unwrap(), Stage::Loaded);

    // Another seed draws other subsets: the data is dropped too.
    let mut reseeded = config.clone();
    reseeded.run.seed = 1;
    assert_eq!(p.configure(reseeded).unwrap(), Stage::Configured);
}

#[test]
fn models_come_back_and_bad_configs_and_files_are_handled_in_one_place() {
    let dir = tempfile::tempdir().unwrap();
    common::write_cifar10(dir.path(), 1, 200, 100);
    let mut p = Pipeline::new(
        BackendKind::Flex,
        Device::flex(),
        DataSource::from_path(dir.path()),
    );
    let config = small_config();
    p.configure(config.clone()).unwrap();
    common::seeded(|| block(p.train(|_| std::ops::ControlFlow::Continue(()))).unwrap());
    let before = craft_and_unlearn(&mut p);

    // A model exported and imported again gives the same results.
    let bytes = block(p.model_bytes()).unwrap();
    let summary = p.import_model(&bytes, "exported").unwrap();
    assert_eq!(summary.classes.len(), 10);
    assert_eq!(p.stage(), Stage::Trained);
    assert_eq!(craft_and_unlearn(&mut p), before);

    // A shipped model is used only with the bytes its report's SHA-256 names, and only for an
    // experiment that names it (or names none); crafted requests are keyed by that hash.
    let report = |sha256: String| {
        serde_json::to_vec(&serde_json::json!({
            "name": "tiny", "description": "", "sha256": sha256, "version": "0.1.0",
            "run": config.run, "trained_on": "", "history": [], "best_epoch": 1, "stopped": "",
            "test": { "count": 0, "accuracy": 0.0, "loss": 0.0, "per_class": [] },
        }))
        .unwrap()
    };
    let sha256 = overunlearn::pretrained::sha256_hex(&bytes);
    let named = |model: &str| ExperimentConfig {
        model: Some(model.into()),
        ..config.clone()
    };
    p.configure(named("tiny")).unwrap();
    p.import_shipped(&bytes, &report(sha256.clone())).unwrap();
    assert_eq!(p.stage(), Stage::Trained);
    assert_eq!(
        p.crossings_key().unwrap(),
        config.crossings_key(&sha256),
        "the key is the shipped file's"
    );
    let e = p
        .import_shipped(&bytes, &report("0".repeat(64)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("tiny.bin") && e.contains("SHA-256"), "{e}");
    p.configure(named("other")).unwrap();
    let e = p
        .import_shipped(&bytes, &report(sha256))
        .unwrap_err()
        .to_string();
    assert!(e.contains("model") && e.contains("\"other\""), "{e}");
    p.configure(config.clone()).unwrap();
    assert_eq!(craft_and_unlearn(&mut p), before);

    // A model of another architecture is refused and the pipeline keeps its own.
    let mut other = config.clone();
    other.run.preset = Preset::Lab;
    let mut q = Pipeline::new(
        BackendKind::Flex,
        Device::flex(),
        DataSource::from_path(dir.path()),
    );
    q.configure(other).unwrap();
    let e = q.import_model(&bytes, "exported").unwrap_err().to_string();
    assert!(e.contains("different architecture"), "{e}");
    assert_eq!(q.stage(), Stage::Loaded);

    // A config is checked whole before it replaces the current one.
    let mut bad = config.clone();
    bad.percentages = vec![0.0];
    assert!(
        p.configure(bad)
            .unwrap_err()
            .to_string()
            .contains("percentage")
    );
    let mut gpu = config.clone();
    gpu.run.backend = BackendKind::Wgpu;
    let e = p.configure(gpu).unwrap_err().to_string();
    assert!(e.contains("run.backend") && e.contains("wgpu"), "{e}");
    assert_eq!(
        p.stage(),
        Stage::Unlearned,
        "a refused config changes nothing"
    );

    // A class that the data does not have is named before any training: at once when the
    // data are loaded (the config is refused and nothing changes), at loading otherwise.
    let unicorn = ExperimentConfig {
        class_a: "unicorn".into(),
        ..config.clone()
    };
    let e = p.configure(unicorn.clone()).unwrap_err().to_string();
    assert!(
        e.contains("class_a") && e.contains("\"unicorn\"") && e.contains("airplane, automobile"),
        "{e}"
    );
    assert_eq!(p.stage(), Stage::Unlearned);
    let mut fresh = Pipeline::new(
        BackendKind::Flex,
        Device::flex(),
        DataSource::from_path(dir.path()),
    );
    fresh.configure(unicorn).unwrap();
    let e = block(fresh.train(|_| panic!("no training step may run")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("class_a") && e.contains("unicorn"), "{e}");
    let e = p
        .configure(ExperimentConfig {
            blend_class: Some("pegasus".into()),
            ..config.clone()
        })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("blend_class") && e.contains("\"pegasus\""),
        "{e}"
    );
    // A request size under one image is refused with the smallest that holds one.
    let tiny = ExperimentConfig {
        percentages: vec![0.0001],
        ..config.clone()
    };
    let e = p.configure(tiny).unwrap_err().to_string();
    assert!(
        e.contains("percentages") && e.contains("0.0001%") && e.contains("give at least"),
        "{e}"
    );
    p.configure(config.clone()).unwrap();

    // Files handed over replace what was loaded.
    p.add_files(Files::new("dropped"));
    assert_eq!(p.stage(), Stage::Configured);
    assert!(p.load().is_err(), "no files were handed over");
}
