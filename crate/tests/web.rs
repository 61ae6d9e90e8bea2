//! The core compiled to WebAssembly, in headless Chromium (wasm-bindgen-test): the tutorial
//! preset trains a few steps on flex and on WebGPU and its loss falls; the fused inference path,
//! on our SIMD128 kernel here, gives burn's generic logits.
#![cfg(target_arch = "wasm32")]

mod common;

use std::ops::ControlFlow;

use burn::prelude::Device;
use common::logits::{CIFAR, assert_close, assert_close_odd_sides, fresh};
use overunlearn::backend::BackendKind;
use overunlearn::model::Preset;
use overunlearn::train::{self, Progress, TrainConfig};
use overunlearn::training_run::model_file::ModelFile;
use wasm_bindgen_test::*;

// Training is long synchronous work: run it in a worker, as the lab does.
wasm_bindgen_test_configure!(run_in_dedicated_worker);

async fn losses(backend: BackendKind) -> Vec<f64> {
    let device = backend.device().await.expect("backend initialises");
    let data = common::synthetic(4, 16, 32, 1);
    let empty = data.select(&[]);
    let model = Preset::Tutorial.config(data.shape, 4);
    let config = TrainConfig {
        epochs: 4,
        batch_size: 16,
        learning_rate: 3e-3,
        ..TrainConfig::default()
    };
    let mut losses = Vec::new();
    let outcome = train::train(&model, &config, &data, &empty, &device, 7, |p| {
        if let Progress::Step(s) = p {
            losses.push(s.loss);
        }
        ControlFlow::Continue(())
    })
    .await
    .expect("training runs");
    assert_eq!(outcome.history.len(), 4);
    losses
}

fn assert_falls(backend: &str, losses: &[f64]) {
    let first = losses[..2].iter().sum::<f64>() / 2.0;
    let last = losses[losses.len() - 2..].iter().sum::<f64>() / 2.0;
    console_log!(
        "{backend}: loss {first:.3} -> {last:.3} over {} steps",
        losses.len()
    );
    assert!(
        last < first * 0.8,
        "{backend}: loss did not fall: {losses:?}"
    );
}

#[wasm_bindgen_test]
async fn tutorial_preset_trains_on_flex() {
    let losses = losses(BackendKind::Flex).await;
    assert_falls("flex", &losses);
}

#[wasm_bindgen_test]
async fn tutorial_preset_trains_on_webgpu() {
    let losses = losses(BackendKind::Wgpu).await;
    assert_falls("webgpu", &losses);
}

#[wasm_bindgen_test]
fn fused_inference_gives_the_generic_logits() {
    // Trained weights and batch-norm statistics (a fresh network's affine is nearly the
    // identity), then every tile shape of the kernel: 4-row tiles and a 2-row rest (lab: 1,086
    // rows a product), 8-column tiles, a 4-column tile (12 filters) and single columns (10
    // classes).
    let bytes = include_bytes!("../../models/lab3-cifar10-b1.bin");
    let file = ModelFile::open(bytes, &Device::flex(), "lab3").unwrap();
    assert_close(&file.trained.model, CIFAR, 21, "lab3-cifar10-b1");
    for preset in [Preset::Tutorial, Preset::Lab] {
        assert_close(&fresh(&preset.config(CIFAR, 10)), CIFAR, 9, preset.name());
    }
    let mut narrow = Preset::Tutorial.config(CIFAR, 10);
    narrow.blocks.truncate(1);
    narrow.blocks[0].filters = 12;
    assert_close(&fresh(&narrow), CIFAR, 3, "12 filters");
    assert_close_odd_sides();
}
