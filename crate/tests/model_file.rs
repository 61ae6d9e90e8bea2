//! Saving and loading models, and refusing files for another architecture or format version.

mod common;

use burn::prelude::*;
use overunlearn::data::ImageShape;
use overunlearn::metrics;
use overunlearn::model::{ModelConfig, Preset, Trained};

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
    common::seeded(|| trained_alone(config, seed))
}

fn trained_alone(config: &ModelConfig, seed: u64) -> Trained {
    let device = Device::flex();
    device.seed(seed);
    Trained {
        model: config.init(&device).unwrap(),
        config: config.clone(),
        class_names: (0..config.num_classes).map(|c| format!("c{c}")).collect(),
    }
}

#[test]
fn a_saved_model_loads_back_with_identical_outputs() {
    let device = Device::flex();
    let original = trained(&tiny(3), 1);
    let bytes = pollster::block_on(original.to_bytes()).unwrap();
    let loaded = Trained::from_bytes(&bytes, &device, "m.bin").unwrap();
    assert_eq!(loaded.config, original.config);
    assert_eq!(loaded.class_names, original.class_names);
    let data = common::synthetic(3, 4, 8, 5);
    let idx: Vec<usize> = (0..data.len()).collect();
    let p0 = pollster::block_on(metrics::probabilities(
        &original.model,
        &data,
        &idx,
        &device,
    ))
    .unwrap();
    let p1 =
        pollster::block_on(metrics::probabilities(&loaded.model, &data, &idx, &device)).unwrap();
    assert_eq!(p0, p1);
    // A differently seeded model gives other outputs, so the comparison above means something.
    let other = trained(&tiny(3), 2);
    let p2 =
        pollster::block_on(metrics::probabilities(&other.model, &data, &idx, &device)).unwrap();
    assert_ne!(p0, p2);
    // Saving the loaded model gives the same bytes.
    assert_eq!(pollster::block_on(loaded.to_bytes()).unwrap(), bytes);
}

#[test]
fn files_from_another_version_or_architecture_are_refused() {
    let device = Device::flex();
    let bytes = pollster::block_on(trained(&tiny(3), 1).to_bytes()).unwrap();

    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&2u32.to_le_bytes());
    let e = Trained::from_bytes(&newer, &device, "new.bin")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("new.bin") && e.contains("format version 2") && e.contains("reads version 1"),
        "{e}"
    );

    let e = Trained::from_bytes(b"PK\x03\x04 certainly not a model", &device, "x.zip")
        .unwrap_err()
        .to_string();
    assert!(e.contains("x.zip: not an overunlearn model file"), "{e}");

    let e = Trained::from_bytes(&bytes[..bytes.len() - 6], &device, "cut.bin")
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut.bin") && e.contains("truncated"), "{e}");

    // A file for another architecture, refused where this one is expected.
    let other = Trained::from_bytes(
        &pollster::block_on(trained(&tiny(5), 1).to_bytes()).unwrap(),
        &device,
        "five.bin",
    )
    .unwrap();
    let e = other
        .expect_config(&tiny(3), "five.bin")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("five.bin: holds a different architecture") && e.contains("\"num_classes\":5"),
        "{e}"
    );

    // A header that lies about the architecture: tensors no longer fit.
    let header_end = 16 + u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[16..header_end]).unwrap();
    let lying = header.replacen("\"dense\":8", "\"dense\":9", 1);
    assert_eq!(lying.len(), header.len(), "the edit keeps the layout");
    let mut patched = bytes.clone();
    patched[16..header_end].copy_from_slice(lying.as_bytes());
    let e = Trained::from_bytes(&patched, &device, "lie.bin")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("lie.bin") && e.contains("dense.weight has shape"),
        "{e}"
    );
}
