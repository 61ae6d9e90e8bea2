//! The fused inference path (`model::fused`) against burn's generic forward pass: the same
//! logits to float rounding on the shipped lab model (real weights and batch-norm statistics),
//! on fresh networks of every preset, without batch-norm, on a dense-only network, on batches
//! that do not fill the last chunk; and the same bits on 1, 2 and 3 threads.

mod common;

use burn::prelude::*;
use overunlearn::data::ImageShape;
use overunlearn::model::fused::FusedCnn;
use overunlearn::model::{Cnn, ModelConfig, Preset};
use overunlearn::training_run::model_file::ModelFile;
use rand::{Rng, SeedableRng};

const CIFAR: ImageShape = ImageShape {
    channels: 3,
    height: 32,
    width: 32,
};

/// `n` images of `shape` with values uniform in the model's input range [-0.5, 0.5].
fn images(shape: ImageShape, n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n * shape.len())
        .map(|_| rng.random_range(-0.5f32..0.5))
        .collect()
}

/// burn's generic path in inference mode.
fn generic(model: &Cnn, shape: ImageShape, x: &[f32]) -> Vec<f32> {
    let n = x.len() / shape.len();
    let t = Tensor::from_data(
        TensorData::new(x.to_vec(), [n, shape.channels, shape.height, shape.width]),
        &Device::flex(),
    );
    model
        .valid()
        .forward_generic(t)
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .unwrap()
}

/// Asserts the two paths agree to 1e-4 of the logits' largest magnitude.
fn assert_close(model: &Cnn, shape: ImageShape, n: usize, what: &str) {
    let x = images(shape, n, 7);
    let fused = FusedCnn::pack(&model.valid(), shape).expect("flex packs");
    let (a, b) = (fused.logits(&x), generic(model, shape, &x));
    assert_eq!(a.len(), b.len(), "{what}: one row per image");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    let worst = a
        .iter()
        .zip(&b)
        .map(|(p, q)| (p - q).abs())
        .fold(0f32, f32::max);
    assert!(
        worst <= 1e-4 * scale,
        "{what}: fused and generic logits differ by {worst} (largest logit {scale})"
    );
}

fn fresh(config: &ModelConfig) -> Cnn {
    common::seeded(|| {
        Device::flex().seed(3);
        config.init(&Device::flex()).unwrap()
    })
}

#[test]
fn the_shipped_lab_model_gives_the_generic_logits() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/lab3-cifar10-b1.bin"
    ))
    .unwrap();
    let file = ModelFile::open(&bytes, &Device::flex(), "lab3").unwrap();
    // 21 images: two full chunks of 8 and a partial one.
    assert_close(&file.trained.model, CIFAR, 21, "lab3-cifar10-b1");
}

#[test]
fn every_preset_and_shape_gives_the_generic_logits() {
    for preset in Preset::ALL {
        assert_close(&fresh(&preset.config(CIFAR, 10)), CIFAR, 9, preset.name());
    }
    let mut plain = Preset::Tutorial.config(CIFAR, 10);
    plain.batch_norm = false;
    assert_close(&fresh(&plain), CIFAR, 3, "without batch-norm");
    let grey = ImageShape {
        channels: 1,
        height: 12,
        width: 20,
    };
    assert_close(
        &fresh(&Preset::Lab.config(grey, 4).with_depth(2)),
        grey,
        5,
        "1x12x20",
    );
    let point = ImageShape {
        channels: 2,
        height: 1,
        width: 1,
    };
    let mut dense_only = Preset::Tutorial.config(point, 2);
    dense_only.blocks.clear();
    assert_close(&fresh(&dense_only), point, 17, "no conv block");
}

#[test]
fn the_fused_logits_do_not_depend_on_the_thread_count() {
    let model = fresh(&Preset::Lab.config(CIFAR, 10));
    let fused = FusedCnn::pack(&model.valid(), CIFAR).unwrap();
    let x = images(CIFAR, 37, 11);
    let on = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| fused.logits(&x))
    };
    let one = on(1);
    assert_eq!(one, on(2), "2 threads");
    assert_eq!(one, on(3), "3 threads");
}

#[test]
fn the_autodiff_variant_of_flex_packs_too() {
    let model = fresh(&Preset::Tutorial.config(CIFAR, 10));
    assert!(FusedCnn::pack(&model.differentiable(&Device::flex()), CIFAR).is_some());
}
