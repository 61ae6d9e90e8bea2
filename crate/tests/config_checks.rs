//! Every experiment config is checked whole before any work, and each refusal names the field
//! (as the config spells it) and what is allowed. The cases of issue 15 (a hand-edited link)
//! and more; the data-dependent ones (an unknown class, a request under one image) are in
//! tests/pipeline.rs.

use overunlearn::experiment::ExperimentConfig;
use serde_json::{Value, json};

/// The default config with `patch` merged into it (objects merged key by key).
fn patched(patch: Value) -> String {
    fn merge(base: &mut Value, patch: Value) {
        match (base, patch) {
            (Value::Object(b), Value::Object(p)) => {
                for (k, v) in p {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
            (b, p) => *b = p,
        }
    }
    let mut config = serde_json::to_value(ExperimentConfig::default()).unwrap();
    merge(&mut config, patch);
    config.to_string()
}

/// The message for `patch`, which must be refused.
fn refusal(patch: Value) -> String {
    match ExperimentConfig::from_json(&patched(patch.clone())) {
        Ok(_) => panic!("{patch} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_default_and_the_scenarios_pass() {
    for config in [
        ExperimentConfig::default(),
        ExperimentConfig::scenario("tutorial").unwrap(),
    ] {
        let text = serde_json::to_string(&config).unwrap();
        assert_eq!(ExperimentConfig::from_json(&text).unwrap(), config);
    }
}

#[test]
fn each_refusal_names_the_field_the_value_and_what_is_allowed() {
    let cases: Vec<(Value, &[&str])> = vec![
        // Issue 15's cases.
        (
            json!({"run": {"train": {"epochs": 100_000_000}}}),
            &["run.train.epochs", "100000000", "from 1 to 1000"],
        ),
        (
            json!({"run": {"train_subset": {"per_class": 4_000_000_000u64}}}),
            &[
                "run.train_subset.per_class",
                "4000000000",
                "from 1 to 10000",
            ],
        ),
        (
            json!({"run": {"seed": -1}}),
            &["run.seed", "-1 is not allowed", "whole number, 0 or more"],
        ),
        // Ten more (and some).
        (
            json!({"run": {"seed": 1u64 << 53}}),
            &["run.seed", "9007199254740992", "from 0 to 9007199254740991"],
        ),
        (
            json!({"run": {"blocks": 0}}),
            &["run.blocks", "0", "from 1 to 8"],
        ),
        (
            json!({"run": {"blocks": 6}}),
            &[
                "run.blocks",
                "6 blocks halve cifar10's 32x32 images below one pixel",
            ],
        ),
        (
            json!({"run": {"batches": [7]}}),
            &["run.batches", "7", "from 1 to 5"],
        ),
        (
            json!({"run": {"dataset": "stl10", "batches": [1]}}),
            &["run.batches", "only CIFAR-10"],
        ),
        (
            json!({"run": {"train": {"learning_rate": 5.0}}}),
            &["run.train.learning_rate", "5", "(0, 1]"],
        ),
        (
            json!({"run": {"train": {"batch_size": 0}}}),
            &["run.train.batch_size", "from 1 to 4096"],
        ),
        (
            json!({"run": {"train_subset": {"validation": 1.0}}}),
            &[
                "run.train_subset.validation",
                "1",
                "up to (not including) 1",
            ],
        ),
        (
            json!({"run": {"test_per_class": 0}}),
            &["run.test_per_class", "from 1 to 10000"],
        ),
        (json!({"run": {"preset": "huge"}}), &["run.preset", "huge"]),
        (
            json!({"run": {"learning_rate": 1}}),
            &["run", "unknown field learning_rate"],
        ),
        (
            json!({"class_b": "airplane"}),
            &["class_b", "\"airplane\" is class A too"],
        ),
        (json!({"class_a": " "}), &["class_a", "is empty"]),
        (
            json!({"percentages": []}),
            &["percentages", "lists 0", "from 1 to 8"],
        ),
        (
            json!({"percentages": [150]}),
            &["percentages", "150", "(0, 100]"],
        ),
        (
            json!({"percentages": "ten"}),
            &["percentages", "\"ten\" is not allowed", "a list"],
        ),
        (
            json!({"attacks": [{"attack": "blending", "ratio": 2}]}),
            &["attacks.ratio", "2", "[0, 1]"],
        ),
        (
            json!({"attacks": [{"attack": "teleport"}]}),
            &["attacks", "teleport"],
        ),
        (
            json!({"labels": []}),
            &["labels", "is empty", "original, prediction or class_b"],
        ),
        (
            json!({"also_taus": [-1.0]}),
            &["also_taus", "-1", "(0, 1000]"],
        ),
        (
            json!({"method": {"tau": {"fixed": 1e31}}}),
            &[
                "method.tau",
                "10000000000000000000000000000000",
                "(0, 1000]",
            ],
        ),
        (
            json!({"method": {"method": "forget_everything"}}),
            &["method", "forget_everything"],
        ),
        (
            json!({"push": {"query_budget": 1_000_000_000u64}}),
            &["push.query_budget", "1000000000", "from 1 to 1000000"],
        ),
        (
            json!({"push": {"walk": {"iterations": 1_000_000}}}),
            &["push.walk.iterations", "1000000", "from 0 to 100"],
        ),
        (json!({"push": {"eps": 0.0}}), &["push.eps", "0", "(0, 1]"]),
        (
            json!({"model": "../secrets"}),
            &["model", "../secrets", "not a shipped model's name"],
        ),
    ];
    for (patch, expected) in cases {
        let message = refusal(patch.clone());
        for part in expected {
            assert!(
                message.contains(part),
                "{patch}: {message:?} lacks {part:?}"
            );
        }
        assert!(!message.contains("line 1 column"), "{patch}: {message}");
    }
}

#[test]
fn text_that_is_not_json_is_named_as_such() {
    let e = ExperimentConfig::from_json("{run:")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not JSON"), "{e}");
}

#[test]
fn a_blending_class_apart_from_class_b_is_checked_like_it() {
    assert!(ExperimentConfig::from_json(&patched(json!({"blend_class": "dog"}))).is_ok());
    let refusal = refusal(json!({"blend_class": "airplane"}));
    assert!(refusal.contains("blend_class"), "{refusal}");
    assert!(refusal.contains("class A too"), "{refusal}");
}
