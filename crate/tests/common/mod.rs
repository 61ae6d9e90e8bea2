//! Helpers shared by the integration tests: small datasets written in the official layouts.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use overunlearn::data::{Dataset, ImageShape};

pub mod logits;

/// A deterministic pixel value for image `i`, channel `c`, row `r`, column `x`.
pub fn pixel(i: usize, c: usize, r: usize, x: usize) -> u8 {
    ((i * 31 + c * 71 + r * 7 + x * 3) % 251) as u8
}

/// CIFAR-10 class names.
pub const CIFAR10_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Bytes of a CIFAR-style batch: `labels[i]` label bytes then the 3x32x32 image of `pixel`.
pub fn cifar_records(labels: &[Vec<u8>], first_index: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        out.extend_from_slice(label);
        for c in 0..3 {
            for r in 0..32 {
                for x in 0..32 {
                    out.push(pixel(first_index + i, c, r, x));
                }
            }
        }
    }
    out
}

/// Writes a CIFAR-10 folder: `batches` training batches of `per_batch` images and a test batch.
/// Labels cycle through the 10 classes.
pub fn write_cifar10(dir: &Path, batches: usize, per_batch: usize, test: usize) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("batches.meta.txt"),
        CIFAR10_NAMES.join("\n") + "\n\n",
    )
    .unwrap();
    for b in 0..batches {
        let labels: Vec<Vec<u8>> = (0..per_batch)
            .map(|i| vec![((b * per_batch + i) % 10) as u8])
            .collect();
        std::fs::write(
            dir.join(format!("data_batch_{}.bin", b + 1)),
            cifar_records(&labels, b * per_batch),
        )
        .unwrap();
    }
    let labels: Vec<Vec<u8>> = (0..test).map(|i| vec![(i % 10) as u8]).collect();
    std::fs::write(dir.join("test_batch.bin"), cifar_records(&labels, 1000)).unwrap();
}

/// A tar archive (uncompressed) holding `files` (name, bytes).
pub fn tar_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    tar.into_inner().unwrap()
}

/// `bytes` gzipped.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Writes a `.tar.gz` archive at `path` holding `files` (name, bytes).
pub fn write_tar_gz(path: &Path, files: &[(String, Vec<u8>)]) {
    std::fs::write(path, gzip(&tar_of(files))).unwrap();
}

/// A synthetic, learnable dataset: each class is a different colour with noise.
pub fn synthetic(classes: usize, per_class: usize, side: usize, seed: u64) -> Dataset {
    let shape = ImageShape {
        channels: 3,
        height: side,
        width: side,
    };
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut noise = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % 64) as i32 - 32
    };
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for i in 0..classes * per_class {
        let class = i % classes;
        for c in 0..3 {
            let base = if c == class % 3 { 200 } else { 60 } + (class / 3) as i32 * 30;
            for _ in 0..side * side {
                images.push((base + noise()).clamp(0, 255) as u8);
            }
        }
        labels.push(class as u16);
    }
    Dataset {
        class_names: (0..classes).map(|c| format!("class{c}")).collect(),
        shape,
        images,
        labels,
    }
}

/// The backend's random generator (weight init, dropout) is process-wide, as in any burn
/// program: code that draws from it takes turns here, so that each run's draws are its own and
/// a seed reproduces it even while tests run in parallel.
pub fn seeded<T>(run: impl FnOnce() -> T) -> T {
    static BACKEND_RNG: Mutex<()> = Mutex::new(());
    let _turn = BACKEND_RNG.lock().unwrap_or_else(|e| e.into_inner());
    run()
}

/// A fresh network of `config` drawn from `seed` within [`seeded`]: burn draws a parameter's
/// initial values when it is first read, so they are all read here, while the generator is this
/// test's (read later, tests running beside it could draw in between: a flaky network).
pub fn fresh_network(
    config: &overunlearn::model::ModelConfig,
    seed: u64,
) -> overunlearn::model::Cnn {
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::prelude::*;
    struct Materialise;
    impl ModuleVisitor for Materialise {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    seeded(|| {
        let device = Device::flex();
        device.seed(seed);
        let model = config.init(&device).unwrap();
        model.visit(&mut Materialise);
        model
    })
}

/// Trains `model` on `train` (validating on `val`) for a few epochs with seed 1, taking its turn
/// with the backend's random generator.
#[cfg(not(target_arch = "wasm32"))]
pub fn train_small(
    model: &overunlearn::model::ModelConfig,
    train: &Dataset,
    val: &Dataset,
    epochs: usize,
) -> overunlearn::model::Trained {
    let settings = overunlearn::train::TrainConfig {
        epochs,
        batch_size: 16,
        ..Default::default()
    };
    seeded(|| {
        pollster::block_on(overunlearn::train::train(
            model,
            &settings,
            train,
            val,
            &burn::prelude::Device::flex(),
            1,
            |_| std::ops::ControlFlow::Continue(()),
        ))
        .unwrap()
        .trained
    })
}
