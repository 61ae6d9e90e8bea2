//! The fused inference path (`model::fused`) against burn's generic forward pass, shared by the
//! native tests (`fused.rs`) and the browser's (`web.rs`: there the products run on our SIMD128
//! kernel).

use burn::prelude::*;
use overunlearn::data::ImageShape;
use overunlearn::model::fused::FusedCnn;
use overunlearn::model::{Cnn, ModelConfig, Preset};
use rand::{Rng, SeedableRng};

/// CIFAR's image shape.
pub const CIFAR: ImageShape = ImageShape {
    channels: 3,
    height: 32,
    width: 32,
};

/// `n` images of `shape` with values uniform in the model's input range [-0.5, 0.5].
pub fn images(shape: ImageShape, n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n * shape.len())
        .map(|_| rng.random_range(-0.5f32..0.5))
        .collect()
}

/// burn's generic path in inference mode.
pub fn generic(model: &Cnn, shape: ImageShape, x: &[f32]) -> Vec<f32> {
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
pub fn assert_close(model: &Cnn, shape: ImageShape, n: usize, what: &str) {
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

/// A network of `config` initialised with seed 3.
pub fn fresh(config: &ModelConfig) -> Cnn {
    super::fresh_network(config, 3)
}

/// [`assert_close`] on a 2-block `lab` network over 1x12x20 images: one channel, sides that do
/// not halve evenly twice.
pub fn assert_close_odd_sides() {
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
}
