//! Saving and loading models, refusing files for another architecture or format version, and
//! converting version-1 files.

mod common;

use burn::prelude::*;
use overunlearn::data::{DatasetKind, ImageShape};
use overunlearn::metrics;
use overunlearn::model::file::{self, Precision};
use overunlearn::model::{ModelConfig, Preset, Trained};
use overunlearn::training_run::RunConfig;
use overunlearn::training_run::{ModelFile, model_file};

/// Reads model-file bytes on the CPU.
fn open(bytes: &[u8], origin: &str) -> overunlearn::Result<ModelFile> {
    ModelFile::open(bytes, &Device::flex(), origin)
}

/// Model-file bytes of `trained`, recording `run`.
fn save(trained: &Trained, run: &RunConfig) -> Vec<u8> {
    pollster::block_on(trained.to_bytes(run)).unwrap()
}

/// `bytes` with its JSON header edited by `edit` (the version in the prefix follows the header's
/// `format_version`).
fn edited(bytes: &[u8], edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let end = 16 + u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[16..end]).unwrap();
    edit(&mut header);
    let version = header["format_version"].as_u64().unwrap() as u32;
    let json = serde_json::to_vec(&header).unwrap();
    let mut out = b"OVUNLRN\0".to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[end..]);
    out
}

/// The bytes of an older `version` of an f32 file with the same network: its header edited
/// by `edit`.
fn as_version(bytes: &[u8], version: u32, edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    edited(bytes, |header| {
        assert_eq!(header["precision"], "f32");
        header.as_object_mut().unwrap().remove("precision");
        header["format_version"] = version.into();
        edit(header);
    })
}

/// The bytes of a version-1 file with the same network: no run in the header.
fn as_version_1(bytes: &[u8]) -> Vec<u8> {
    as_version(bytes, 1, |header| {
        header.as_object_mut().unwrap().remove("run");
        header["crate_version"] = "0.0.9".into();
    })
}

fn tiny(classes: usize) -> ModelConfig {
    let mut config = Preset::Tutorial.config(
        ImageShape {
            channels: 3,
            height: 8,
            width: 8,
        },
        classes,
    );
    config.blocks.truncate(2);
    config.blocks.iter_mut().for_each(|b| b.filters = 4);
    config.dense = 8;
    config
}

fn trained(config: &ModelConfig, seed: u64) -> Trained {
    Trained {
        model: common::fresh_network(config, seed),
        config: config.clone(),
        class_names: (0..config.num_classes).map(|c| format!("c{c}")).collect(),
    }
}

#[test]
fn a_saved_model_loads_back_with_identical_outputs_and_its_run() {
    let original = trained(&tiny(3), 1);
    let run = RunConfig {
        seed: 7,
        batches: vec![2],
        ..RunConfig::default()
    };
    let bytes = save(&original, &run);
    let file = open(&bytes, "m.bin").unwrap();
    assert_eq!(file.run, run);
    let loaded = file.trained;
    assert_eq!(loaded.config, original.config);
    assert_eq!(loaded.class_names, original.class_names);
    let data = common::synthetic(3, 4, 8, 5);
    let idx: Vec<usize> = (0..data.len()).collect();
    let p0 = pollster::block_on(metrics::probabilities(&original.model, &data, &idx)).unwrap();
    let p1 = pollster::block_on(metrics::probabilities(&loaded.model, &data, &idx)).unwrap();
    assert_eq!(p0, p1);
    // A differently seeded model gives other outputs, so the comparison above means something.
    let other = trained(&tiny(3), 2);
    let p2 = pollster::block_on(metrics::probabilities(&other.model, &data, &idx)).unwrap();
    assert_ne!(p0, p2);
    // Saving the loaded model gives the same bytes.
    assert_eq!(save(&loaded, &run), bytes);
}

#[test]
fn an_f16_file_holds_the_rounded_weights_in_half_the_bytes_and_version_2_still_reads() {
    let original = trained(&tiny(3), 1);
    let run = RunConfig::default();
    let full = save(&original, &run);
    let half = pollster::block_on(original.to_bytes_at(&run, Precision::F16)).unwrap();
    let data_bytes =
        |b: &[u8]| b.len() - 16 - u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
    assert_eq!(data_bytes(&half) * 2, data_bytes(&full));
    // Every value read back is the f32 weight rounded to the nearest f16.
    let parsed = |b: &[u8]| file::parse(b, "m.bin").unwrap().1;
    let rounded: Vec<f32> = parsed(&full)
        .iter()
        .map(|&v| half::f16::from_f32(v).to_f32())
        .collect();
    assert_eq!(parsed(&half), rounded);
    assert_ne!(
        parsed(&half),
        parsed(&full),
        "rounding changed nothing: not f16"
    );
    let loaded = open(&half, "half.bin").unwrap();
    assert_eq!(loaded.run, run);
    // Saved again at f16, the loaded network gives the same file.
    assert_eq!(
        pollster::block_on(loaded.trained.to_bytes_at(&run, Precision::F16)).unwrap(),
        half
    );

    // A version-2 file (no precision in its header) is f32 and reads as before.
    let v2 = as_version(&full, 2, |_| {});
    assert_eq!(parsed(&v2), parsed(&full));
    // ... and a version-2 header claiming f16 is refused.
    let bad = as_version(&full, 2, |header| header["precision"] = "f16".into());
    let e = open(&bad, "v2.bin").unwrap_err().to_string();
    assert!(
        e.contains("v2.bin: format version 2 stores f32 only"),
        "{e}"
    );
}

#[test]
fn a_checkpoint_network_becomes_a_model_file_of_its_run() {
    let run = RunConfig {
        seed: 9,
        ..RunConfig::default()
    };
    let bytes = save(&trained(&tiny(3), 1), &run);
    let no_run = |h: &mut serde_json::Value| {
        h.as_object_mut().unwrap().remove("run");
    };
    let weights = edited(&bytes, no_run);
    let e = open(&weights, "w.bin").unwrap_err().to_string();
    assert!(e.contains("w.bin: records no training run"), "{e}");
    // The snapshot is the file saving the network with its run gives, byte for byte.
    assert_eq!(
        model_file::snapshot(&weights, &run, "w.bin").unwrap(),
        bytes
    );
    let e = model_file::snapshot(&as_version(&bytes, 2, no_run), &run, "old.bin")
        .unwrap_err()
        .to_string();
    assert!(e.contains("old.bin: is format version 2"), "{e}");
}

#[test]
fn files_from_another_version_or_architecture_are_refused() {
    let bytes = save(&trained(&tiny(3), 1), &RunConfig::default());

    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&4u32.to_le_bytes());
    let e = open(&newer, "new.bin").unwrap_err().to_string();
    assert!(
        e.contains("new.bin: made by format version 4")
            && e.contains("reads format version 3; use a newer overunlearn"),
        "{e}"
    );

    let e = open(&as_version_1(&bytes), "old.bin")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("old.bin: made by format version 1 (overunlearn 0.0.9)")
            && e.contains("re-train it or convert it with `overunlearn convert"),
        "{e}"
    );

    let e = open(b"PK\x03\x04 certainly not a model", "x.zip")
        .unwrap_err()
        .to_string();
    assert!(e.contains("x.zip: not an overunlearn model file"), "{e}");

    let e = open(&bytes[..bytes.len() - 6], "cut.bin")
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut.bin") && e.contains("truncated"), "{e}");

    // A model for other classes or another architecture, refused by the one compatibility rule.
    let shape = tiny(3).input;
    let data = common::synthetic(3, 2, shape.height, 1);
    let run = RunConfig {
        preset: Preset::Tutorial,
        ..RunConfig::default()
    };
    let five = trained(&Preset::Tutorial.config(shape, 5), 1);
    let e = run
        .check_model(&five, &data, "five.bin")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("five.bin: was trained on 8x8 images of classes [\"c0\"")
            && e.contains("cifar10 as this run draws it has 8x8"),
        "{e}"
    );
    let mut lab = trained(&Preset::Lab.config(shape, 3), 1);
    lab.class_names = data.class_names.clone();
    let e = run
        .check_model(&lab, &data, "lab.bin")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("lab.bin: holds a different architecture")
            && e.contains("where the tutorial preset builds"),
        "{e}"
    );
    let mut fits = trained(&Preset::Tutorial.config(shape, 3), 1);
    fits.class_names = data.class_names.clone();
    run.check_model(&fits, &data, "fits.bin").unwrap();

    // A header that lies about the architecture: tensors no longer fit.
    let header_end = 16 + u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[16..header_end]).unwrap();
    let lying = header.replacen("\"dense\":8", "\"dense\":9", 1);
    assert_eq!(lying.len(), header.len(), "the edit keeps the layout");
    let mut patched = bytes.clone();
    patched[16..header_end].copy_from_slice(lying.as_bytes());
    let e = open(&patched, "lie.bin").unwrap_err().to_string();
    assert!(
        e.contains("lie.bin") && e.contains("dense.weight has shape"),
        "{e}"
    );
}

#[test]
fn a_version_1_file_converts_with_its_run_and_the_same_weights() {
    let run = RunConfig {
        preset: Preset::Tutorial,
        seed: 3,
        ..RunConfig::default()
    };
    let config = Preset::Tutorial.config(DatasetKind::Cifar10.shape(), 10);
    let original = trained(&config, 4);
    let current = save(&original, &run);
    let old = as_version_1(&current);
    assert!(open(&old, "old.bin").is_err());

    let converted = model_file::convert(&old, &run, "old.bin").unwrap();
    assert_eq!(
        converted, current,
        "the same file as one saved with its run"
    );
    let body =
        |b: &[u8]| b.len() - (16 + u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize);
    assert_eq!(
        &converted[converted.len() - body(&converted)..],
        &old[old.len() - body(&old)..]
    );
    assert_eq!(open(&converted, "new.bin").unwrap().run, run);

    // A run that does not build this architecture is not the model's.
    let lab = RunConfig {
        preset: Preset::Lab,
        ..run.clone()
    };
    let e = model_file::convert(&old, &lab, "old.bin")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("old.bin: holds") && e.contains("the lab preset on cifar10 (10 classes) builds"),
        "{e}"
    );
    // Only version-1 files are converted.
    let e = model_file::convert(&current, &run, "new.bin")
        .unwrap_err()
        .to_string();
    assert!(e.contains("new.bin: is format version 3"), "{e}");
}
