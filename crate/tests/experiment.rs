//! The experiment's parts: config checks, the built-in scenarios, the files a run reads, crafting
//! (its gallery, its crossings kept and reused) and unlearning in two calls, deterministic.

mod common;

use overunlearn::attack::crossings::{Crossings, Part, parts_needed};
use overunlearn::attack::search::Goal;
use overunlearn::data::{Dataset, DatasetKind};
use overunlearn::experiment::{self, Attack, Crafted, ExperimentConfig};
use overunlearn::model::{Preset, Trained};
use overunlearn::training_run::RunData;
use overunlearn::unlearn::Method;
use overunlearn::unlearn::first_order::{FirstOrderConfig, Tau};

fn refused(change: impl FnOnce(&mut ExperimentConfig), needle: &str) {
    let mut config = ExperimentConfig::default();
    change(&mut config);
    let e = config.validate().unwrap_err().to_string();
    assert!(e.contains(needle), "{e:?} does not mention {needle:?}");
}

#[test]
fn configs_are_checked_with_messages_that_name_the_problem() {
    ExperimentConfig::default().validate().unwrap();
    refused(
        |c| c.percentages = vec![150.0],
        "150 is not allowed: give a number in (0, 100]",
    );
    refused(|c| c.percentages.clear(), "percentages");
    refused(|c| c.class_b = c.class_a.clone(), "is class A too");
    refused(
        |c| c.attacks = vec![Attack::Blending { ratio: 2.0 }],
        "attacks.ratio: 2 is not allowed: give a number in [0, 1]",
    );
    refused(
        |c| {
            c.method = Method::FirstOrder(FirstOrderConfig {
                tau: Tau::Fixed(f64::NAN),
                ..FirstOrderConfig::default()
            })
        },
        "method.tau: NaN is not allowed",
    );
    refused(
        |c| c.run.train.learning_rate = f64::NAN,
        "run.train.learning_rate: NaN",
    );
}

#[test]
fn the_scenarios_are_valid_and_unknown_ones_are_refused() {
    let tutorial = ExperimentConfig::scenario("tutorial").unwrap();
    tutorial.validate().unwrap();
    assert_eq!(tutorial.run.preset, Preset::Tutorial);
    assert_eq!(tutorial.run.batches, vec![1]);
    assert_eq!(
        ExperimentConfig::scenario("paper").unwrap(),
        ExperimentConfig::default()
    );
    let e = ExperimentConfig::scenario("nope").unwrap_err().to_string();
    assert!(e.contains("unknown scenario \"nope\""), "{e}");
}

#[test]
fn a_run_names_the_official_files_it_reads() {
    let tutorial = ExperimentConfig::scenario("tutorial").unwrap().run;
    let files = tutorial.files();
    assert_eq!(
        files.required,
        [
            "cifar-10-batches-bin/batches.meta.txt",
            "cifar-10-batches-bin/test_batch.bin",
            "cifar-10-batches-bin/data_batch_1.bin",
        ]
    );
    assert!(files.optional.is_empty());
    assert_eq!(files.archive, "cifar-10-binary.tar.gz");
    let mut all = tutorial.clone();
    all.batches.clear();
    assert_eq!(all.files().optional.len(), 4);
    all.dataset = DatasetKind::Cifar100;
    assert!(
        all.files()
            .required
            .contains(&"cifar-100-binary/train.bin".to_string())
    );
}

/// Three synthetic classes of 24 images, a tutorial model trained on them, and the run's data
/// (the same images for every split).
/// `config`'s requests crafted against `trained` with `store`'s crossings, counting in `saves`
/// the times the store was handed over for saving.
fn craft(
    config: &ExperimentConfig,
    run_data: &RunData,
    trained: &Trained,
    store: &mut Crossings,
    saves: &mut usize,
) -> Crafted {
    common::seeded(|| {
        let save = |_: &Crossings| {
            *saves += 1;
            Ok(())
        };
        pollster::block_on(experiment::craft_with(
            config,
            run_data,
            trained,
            store,
            save,
            &mut |_| {},
        ))
        .unwrap()
    })
}

fn small_run() -> (Dataset, Vec<String>, Trained, RunData) {
    let data = common::synthetic(3, 24, 8, 5);
    let names = data.class_names.clone();
    let val = data.select(&[]);
    let model = Preset::Tutorial.config(data.shape, 3);
    let trained = common::train_small(&model, &data, &val, 3);
    let run_data = RunData {
        train: data.clone(),
        validation: data.clone(),
        test: data.clone(),
    };
    (data, names, trained, run_data)
}

#[test]
fn shipped_parts_hold_each_request_size_once_and_a_run_fetches_only_what_it_needs() {
    let (_, names, trained, run_data) = small_run();
    let config = ExperimentConfig {
        class_a: names[0].clone(),
        class_b: names[1].clone(),
        percentages: vec![50.0, 25.0],
        attacks: vec![
            Attack::PushingI { targeted: false },
            Attack::PushingII { targeted: true },
        ],
        ..ExperimentConfig::default()
    };
    let key = config.crossings_key("model");
    let mut store = Crossings::new(key.clone());
    let crafted = craft(&config, &run_data, &trained, &mut store, &mut 0);
    let sources = |percent: f64, targeted: bool| {
        let request = crafted
            .requests
            .iter()
            .find(|p| p.percent == percent && p.attack.pushing() == Some(targeted))
            .unwrap();
        request.request.sources.clone()
    };
    // Per side, the smaller size first; the larger part holds only what it adds (nested).
    let parts = crafted.parts();
    let shape: Vec<(bool, f64, usize)> = parts
        .iter()
        .map(|(p, samples)| (p.targeted, p.percent, samples.len()))
        .collect();
    assert_eq!(
        shape,
        [
            (false, 25.0, 6),
            (false, 50.0, 6),
            (true, 25.0, 6),
            (true, 50.0, 6)
        ]
    );
    for (part, samples) in &parts {
        assert!(samples.iter().all(|&(t, _)| t == part.targeted));
    }
    let side = |targeted: bool, upto: usize| -> Vec<usize> {
        let mut all: Vec<usize> = parts
            .iter()
            .filter(|(p, _)| p.targeted == targeted)
            .take(upto)
            .flat_map(|(_, samples)| samples.iter().map(|&(_, s)| s))
            .collect();
        all.sort_unstable();
        all
    };
    assert_eq!(side(false, 1), sources(25.0, false));
    assert_eq!(side(false, 2), sources(50.0, false));
    assert_eq!(side(true, 2), sources(50.0, true));

    // The parts, stored and merged back, give the whole store; another key's store is ignored.
    let mut merged = Crossings::new(key.clone());
    for (_, samples) in &parts {
        merged.merge(store.subset(samples.iter().copied()));
    }
    let kept = store
        .get(Goal::Untargeted, sources(25.0, false)[0])
        .unwrap();
    let mut other = Crossings::new("another key");
    other.insert(Goal::Untargeted, 999, kept.clone());
    merged.merge(other);
    assert_eq!(merged, store);

    // A run fetches, per side it pushes, the parts up to the first as large as its largest
    // request; file stems of other keys or of no part are passed over.
    let stems: Vec<String> = parts
        .iter()
        .map(|(p, _)| p.stem(&key))
        .chain(["0123456789abcdef01234567-u25".into(), key[..24].to_string()])
        .collect();
    let needed = |percent: f64, sides: &[bool]| {
        let wants: Vec<Part> = sides
            .iter()
            .map(|&targeted| Part { targeted, percent })
            .collect();
        parts_needed(&key, &stems, &wants)
            .into_iter()
            .map(|stem| stem[25..].to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(needed(25.0, &[false]), ["u25"]);
    assert_eq!(needed(30.0, &[false]), ["u25", "u50"]);
    assert_eq!(needed(80.0, &[false, true]), ["u25", "u50", "t25", "t50"]);
    assert_eq!(needed(10.0, &[true]), ["t25"]);
    // What a config wants: its largest request on each side its attacks push.
    assert_eq!(
        config.wanted_parts(),
        [
            Part {
                targeted: false,
                percent: 50.0
            },
            Part {
                targeted: true,
                percent: 50.0
            }
        ]
    );
    let blending = ExperimentConfig {
        attacks: vec![Attack::Blending { ratio: 0.5 }],
        ..config.clone()
    };
    assert!(blending.wanted_parts().is_empty());
}

#[test]
fn crafting_then_unlearning_is_deterministic_and_reuses_kept_crossings() {
    let (data, names, trained, run_data) = small_run();
    let config = ExperimentConfig {
        class_a: names[0].clone(),
        class_b: names[1].clone(),
        blend_class: Some(names[2].clone()),
        percentages: vec![50.0],
        attacks: vec![
            Attack::Blending { ratio: 0.5 },
            Attack::PushingI { targeted: false },
        ],
        method: Method::FirstOrder(FirstOrderConfig {
            tau: Tau::Fixed(1e-3),
            ..FirstOrderConfig::default()
        }),
        ..ExperimentConfig::default()
    };
    let craft_and_unlearn = || {
        common::seeded(|| {
            pollster::block_on(async {
                let mut events = Vec::new();
                let mut hear = |e| events.push(e);
                let crafted = experiment::craft(&config, &run_data, &trained, &mut hear)
                    .await
                    .unwrap();
                let report = experiment::unlearn(&config, &run_data, &trained, &crafted, &mut hear)
                    .await
                    .unwrap();
                assert!(!events.is_empty());
                (crafted, report)
            })
        })
    };
    let (_, whole) = craft_and_unlearn();
    let (crafted, split) = craft_and_unlearn();
    assert_eq!(crafted.requests.len(), 3);
    let accuracies = |r: &experiment::ExperimentReport| {
        r.rows
            .iter()
            .map(|row| (row.attack.clone(), row.accuracy, row.per_class.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(accuracies(&whole), accuracies(&split));

    // Blending's effect shows on the blend class: the markdown gives it its own column.
    let markdown = whole.markdown();
    let blend_row = &whole.rows[1];
    assert!(matches!(blend_row.attack, Attack::Blending { .. }));
    let cell = format!(
        "| {:.1} | {:.1} | {:.1} | {:.3} |",
        blend_row.accuracy_a * 100.0,
        blend_row.accuracy_b * 100.0,
        blend_row.per_class[2] * 100.0,
        blend_row.stats.mean_ssim
    );
    assert!(
        markdown.contains(&format!("| {} % | mean SSIM", names[2])),
        "{markdown}"
    );
    assert!(markdown.contains(&cell), "{cell} not in {markdown}");

    // The gallery shows the submitted images beside their originals.
    let pushing = &crafted.requests[2];
    let samples = pollster::block_on(pushing.gallery(&trained, &run_data.train, 4)).unwrap();
    assert_eq!(samples.len(), 4);
    for (k, s) in samples.iter().enumerate() {
        assert_eq!(s.source, pushing.request.sources[k]);
        assert_eq!(s.original, data.image(s.source));
        assert_eq!(s.true_label, 0);
        assert_eq!(s.submitted, pushing.request.submitted.image(k));
    }
    assert_eq!(pushing.stats().size, pushing.request.sources.len());

    // Kept crossings are reused: a stopped run goes on where it was and pushes nothing twice.
    let key = config.crossings_key("model");
    assert_ne!(key, config.crossings_key("other model"));
    // The key names what the crossings depend on (the model, the training images, class B, the
    // search), not what only the evaluation or the service uses.
    let with = |change: &dyn Fn(&mut ExperimentConfig)| {
        let mut changed = config.clone();
        change(&mut changed);
        changed.crossings_key("model")
    };
    assert_eq!(with(&|c| c.run.test_per_class = Some(3)), key);
    assert_eq!(with(&|c| c.percentages = vec![1.0]), key);
    assert_eq!(with(&|c| c.method = Method::Retrain), key);
    assert_ne!(with(&|c| c.run.seed += 1), key);
    assert_ne!(with(&|c| c.class_b = "ship".into()), key);
    assert_ne!(with(&|c| c.push.query_budget += 1), key);
    let mut store = Crossings::new(key);
    let mut saves = 0;
    let first = craft(&config, &run_data, &trained, &mut store, &mut saves);
    assert!(saves >= 1 && !store.is_empty());
    let mut again = 0;
    let second = craft(&config, &run_data, &trained, &mut store, &mut again);
    assert_eq!(
        again, 0,
        "every sample was kept: nothing pushed, nothing saved"
    );
    for (a, b) in first.requests.iter().zip(&second.requests) {
        assert_eq!(a.request.submitted, b.request.submitted);
    }
    assert_eq!(
        first.requests[2].request.submitted,
        crafted.requests[2].request.submitted
    );
}
