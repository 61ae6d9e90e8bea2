//! Property tests of every parser of outside input: dataset files (CIFAR-10, CIFAR-100, STL-10),
//! `.tar.gz` archives, model files, experiment configs (files and links) and crafted-request
//! files. Arbitrary bytes, and valid inputs with bytes flipped, cut or appended, load or give a
//! named error: never a panic, and never an allocation beyond a bound set by the input's size.
//!
//! Each target runs `OVERUNLEARN_FUZZ_CASES` cases (default 64, what `.ci/run` spends: a few
//! seconds a target) from a fixed seed, or for `OVERUNLEARN_FUZZ_SECONDS` seconds when set (the
//! long runs the README reports), and prints how many cases it ran.

mod common;

use burn::prelude::Device;
use overunlearn::attack::crossings::Crossings;
use overunlearn::data::{DataSource, DatasetKind, Files, ImageShape, Split};
use overunlearn::experiment::ExperimentConfig;
use overunlearn::model::{Preset, Trained};
use overunlearn::training_run::{ModelFile, RunConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Runs `check` on values of `strategy`: a fixed number of cases, or for a time.
fn fuzz<S: Strategy>(name: &str, strategy: S, check: impl Fn(S::Value))
where
    S::Value: std::fmt::Debug,
{
    let env = |key: &str| std::env::var(key).ok().and_then(|v| v.parse::<u64>().ok());
    let seconds = env("OVERUNLEARN_FUZZ_SECONDS");
    let chunk = env("OVERUNLEARN_FUZZ_CASES").unwrap_or(64) as u32;
    let config = Config {
        cases: chunk,
        failure_persistence: None,
        ..Config::default()
    };
    // A runner counts its passed cases for good, so each chunk gets a fresh runner whose
    // generator is drawn from the previous one: the stream goes on, no case repeats.
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let start = std::time::Instant::now();
    let mut cases = 0u64;
    loop {
        let mut runner = TestRunner::new_with_rng(config.clone(), rng);
        let outcome = runner.run(&strategy, |value| {
            check(value);
            Ok(())
        });
        if let Err(e) = outcome {
            panic!("{name}: {e}");
        }
        cases += u64::from(chunk);
        rng = runner.new_rng();
        if seconds.is_none_or(|s| start.elapsed().as_secs() >= s) {
            break;
        }
    }
    eprintln!(
        "{name}: {cases} cases in {:.0} s",
        start.elapsed().as_secs_f64()
    );
}

/// `valid` with up to 8 bytes overwritten, then cut at a point or extended.
fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len().max(1);
    (
        prop::collection::vec((0..len, any::<u8>()), 0..8),
        prop_oneof![Just(None), (0..len).prop_map(Some),],
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(move |(flips, cut, tail)| {
            let mut bytes = valid.clone();
            for (at, b) in flips {
                if let Some(slot) = bytes.get_mut(at) {
                    *slot = b;
                }
            }
            if let Some(cut) = cut {
                bytes.truncate(cut);
            } else {
                bytes.extend(tail);
            }
            bytes
        })
}

/// Arbitrary bytes, or `valid` mutated.
fn inputs(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..4096), mutated(valid),]
}

/// Reads every split of `kind` from `files`; the outcome does not matter, only that it returns.
fn read_all(kind: DatasetKind, files: Files) {
    let source = DataSource::Files(files);
    if let Ok(opened) = source.open(kind.layout()) {
        for split in [Split::Train, Split::Test] {
            let _ = kind.read(&opened, split, &[]);
        }
    }
}

#[test]
fn cifar10_files() {
    let labels: Vec<Vec<u8>> = (0..4).map(|i| vec![i as u8]).collect();
    let batch = common::cifar_records(&labels, 0);
    let meta = (common::CIFAR10_NAMES.join("\n") + "\n").into_bytes();
    fuzz("cifar10", (inputs(batch), inputs(meta)), |(batch, meta)| {
        let mut files = Files::new("fuzz");
        files.insert("cifar-10-batches-bin/batches.meta.txt", meta);
        files.insert("cifar-10-batches-bin/data_batch_1.bin", batch.clone());
        files.insert("cifar-10-batches-bin/test_batch.bin", batch);
        read_all(DatasetKind::Cifar10, files);
    });
}

#[test]
fn cifar100_files() {
    let labels: Vec<Vec<u8>> = (0..4).map(|i| vec![i as u8 % 20, i as u8]).collect();
    let records = common::cifar_records(&labels, 0);
    let names = |n: usize| {
        (0..n)
            .map(|i| format!("c{i}\n"))
            .collect::<String>()
            .into_bytes()
    };
    fuzz(
        "cifar100",
        (inputs(records), inputs(names(100))),
        |(records, fine)| {
            let mut files = Files::new("fuzz");
            files.insert("cifar-100-binary/train.bin", records.clone());
            files.insert("cifar-100-binary/test.bin", records);
            files.insert("cifar-100-binary/fine_label_names.txt", fine);
            files.insert("cifar-100-binary/coarse_label_names.txt", names(20));
            read_all(DatasetKind::Cifar100, files.clone());
            read_all(DatasetKind::Cifar100Coarse, files);
        },
    );
}

#[test]
fn stl10_files() {
    let images = vec![7u8; 2 * 3 * 96 * 96];
    let labels = vec![1u8, 10];
    let names = (1..=10)
        .map(|i| format!("c{i}\n"))
        .collect::<String>()
        .into_bytes();
    fuzz(
        "stl10",
        (inputs(images), inputs(labels), inputs(names)),
        |(images, labels, names)| {
            let mut files = Files::new("fuzz");
            for split in ["train", "test"] {
                files.insert(format!("stl10_binary/{split}_X.bin"), images.clone());
                files.insert(format!("stl10_binary/{split}_y.bin"), labels.clone());
            }
            files.insert("stl10_binary/class_names.txt", names);
            read_all(DatasetKind::Stl10, files);
        },
    );
}

#[test]
fn tar_gz_archives() {
    let tar = common::tar_of(&[
        (
            "cifar-10-batches-bin/batches.meta.txt".into(),
            b"a\nb\n".to_vec(),
        ),
        ("cifar-10-batches-bin/test_batch.bin".into(), vec![1; 3073]),
    ]);
    let valid = common::gzip(&tar);
    // Flipped bytes in the compressed stream mostly break the gzip layer; flipped bytes in the
    // tar inside (sizes, names, types, checksums) reach the archive reader.
    let strategy = prop_oneof![inputs(valid), mutated(tar).prop_map(|t| common::gzip(&t)),];
    fuzz("tar.gz", strategy, |bytes| {
        let _ = Files::from_tar_gz("fuzz.tar.gz", &bytes);
    });
}

/// The bytes of a model file of a tiny network.
fn tiny_model_file(device: &Device) -> Vec<u8> {
    let mut config = Preset::Tutorial.config(
        ImageShape {
            channels: 3,
            height: 8,
            width: 8,
        },
        3,
    );
    config.blocks.truncate(1);
    config.blocks[0].filters = 2;
    config.dense = 4;
    let trained = Trained {
        model: config.init(device).unwrap(),
        config,
        class_names: vec!["a".into(), "b".into(), "c".into()],
    };
    pollster::block_on(trained.to_bytes(&RunConfig::default())).unwrap()
}

#[test]
fn model_files() {
    let device = Device::flex();
    let valid = tiny_model_file(&device);
    // The header's numbers replaced by arbitrary ones (an architecture far larger than the
    // file's values must be refused before it is built).
    let numbers = {
        let valid = valid.clone();
        (0..6usize, any::<u64>()).prop_map(move |(k, n)| with_header_number(&valid, k, n))
    };
    let strategy = prop_oneof![inputs(valid), numbers];
    fuzz("model file", strategy, |bytes| {
        let _ = ModelFile::open(&bytes, &device, "fuzz.bin");
    });
}

/// `file` (a model file) with the `k`-th of its header's architecture numbers set to `n`.
fn with_header_number(file: &[u8], k: usize, n: u64) -> Vec<u8> {
    let len = u32::from_le_bytes(file[12..16].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&file[16..16 + len]).unwrap();
    let config = &mut header["config"];
    let slot = match k {
        0 => &mut config["dense"],
        1 => &mut config["num_classes"],
        2 => &mut config["blocks"][0]["filters"],
        3 => &mut config["blocks"][0]["convs"],
        4 => &mut config["input"]["height"],
        _ => &mut header["tensors"][0]["shape"][0],
    };
    *slot = n.into();
    let json = serde_json::to_vec(&header).unwrap();
    let mut out = file[..12].to_vec();
    out.extend((json.len() as u32).to_le_bytes());
    out.extend(json);
    out.extend(&file[16 + len..]);
    out
}

/// Arbitrary JSON: nulls, booleans, numbers, short strings, arrays and objects, nested.
fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z_]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn experiment_configs_and_links() {
    let valid = serde_json::to_string(&ExperimentConfig::default()).unwrap();
    let field_names = serde_json::to_value(ExperimentConfig::default()).unwrap();
    let strategy = prop_oneof![
        json().prop_map(|v| v.to_string().into_bytes()),
        // A valid config with one top-level value replaced by arbitrary JSON.
        (0..9usize, json()).prop_map(move |(k, v)| {
            let mut config = field_names.clone();
            let key = config.as_object().unwrap().keys().nth(k).unwrap().clone();
            config[key] = v;
            config.to_string().into_bytes()
        }),
        inputs(valid.into_bytes()),
    ];
    fuzz("experiment config", strategy, |bytes| {
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Ok(config) = ExperimentConfig::from_json(text)
        {
            // What is accepted is within the limits: it round-trips and checks again.
            let again = serde_json::to_string(&config).unwrap();
            assert_eq!(ExperimentConfig::from_json(&again).unwrap(), config);
        }
    });
}

#[test]
fn crafted_request_files() {
    let store = Crossings::new("k");
    let plain = serde_json::to_vec(&store).unwrap();
    let packed = store.to_gzip();
    fuzz(
        "crafted requests",
        prop_oneof![inputs(plain), inputs(packed)],
        |bytes| {
            let _ = Crossings::from_bytes(&bytes, "fuzz.json.gz");
        },
    );
}

/// What the long runs found, kept as plain tests.
#[test]
fn found_by_fuzzing() {
    let device = Device::flex();
    let valid = tiny_model_file(&device);
    // A header claiming a dense layer of 2^62 units made the reader build it: memory
    // allocation failed (abort). Now refused by the values the architecture needs.
    let e = ModelFile::open(&with_header_number(&valid, 0, 1 << 62), &device, "f.bin")
        .unwrap_err()
        .to_string();
    assert!(e.contains("header's architecture needs"), "{e}");
    // A header claiming 10^18 convs in a block kept the size check counting for ever.
    let start = std::time::Instant::now();
    let e = ModelFile::open(
        &with_header_number(&valid, 3, 1e18 as u64),
        &device,
        "f.bin",
    )
    .unwrap_err()
    .to_string();
    assert!(start.elapsed().as_secs() < 1, "{e}");
    // A tar member claiming 8 GB (with ten bytes behind it) was given 8 GB of capacity up
    // front: now skipped (here the stream ends while skipping it: a named error), and a
    // member's memory grows with the bytes actually read.
    let mut header = tar::Header::new_gnu();
    header
        .set_path("cifar-10-batches-bin/test_batch.bin")
        .unwrap();
    header.set_size(8 << 30);
    header.set_mode(0o644);
    header.set_cksum();
    let mut tar = header.as_bytes().to_vec();
    tar.extend([1u8; 10]);
    tar.extend([0u8; 1024]);
    match Files::from_tar_gz("claim.tar.gz", &common::gzip(&tar)) {
        Ok(files) => assert!(files.is_empty()),
        Err(e) => assert!(
            e.to_string().contains("claim.tar.gz: not a readable"),
            "{e}"
        ),
    }
    header.set_size(300 << 20);
    header.set_cksum();
    let mut tar = header.as_bytes().to_vec();
    tar.extend([1u8; 10]);
    let e = Files::from_tar_gz("short.tar.gz", &common::gzip(&tar)).unwrap_err();
    assert!(e.to_string().contains("short.tar.gz"), "{e}");
}
