//! The fused training operations (`model::fused::ops`, issue 16 point 1) against burn's generic
//! ops: on flex with autodiff, in training mode (batch-norm on the batch's statistics) and in
//! inference mode, the network's output, every parameter's gradient and the input's gradient
//! agree to 1e-4 of each tensor's largest magnitude; the kernels' pieces (convolution, pooling)
//! are checked alone too, on shapes that leave a chunk partly filled and odd sides.

mod common;

use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;
use overunlearn::data::ImageShape;
use overunlearn::model::fused::ops;
use overunlearn::model::{Cnn, ModelConfig, Preset};
use rand::{Rng, SeedableRng};

/// A tensor of `shape` with values uniform in [-0.5, 0.5] on `device`.
fn uniform<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-0.5f32..0.5)).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec().unwrap()
}

/// Asserts `a` and `b` agree to 1e-4 of `b`'s largest magnitude.
fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: sizes");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    let worst = a
        .iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs())
        .fold(0f32, f32::max);
    assert!(
        worst <= 1e-4 * scale,
        "{what}: fused and generic differ by {worst} (largest {scale})"
    );
}

/// Every float parameter's gradient, in visiting order.
struct Grads<'a> {
    grads: &'a burn::tensor::Gradients,
    out: Vec<(String, Vec<f32>)>,
    path: Vec<String>,
}

impl ModuleVisitor for Grads<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = param.val().grad(self.grads) {
            self.out.push((self.path.join("."), values(g)));
        }
    }
}

/// The outputs, parameter gradients and input gradient of `(forward(x) * r).sum()`.
fn run(model: &Cnn, x: &Tensor<4>, r: &Tensor<2>, fused: bool) -> Vec<(String, Vec<f32>)> {
    let x = x.clone().require_grad();
    let y = if fused {
        model.forward(x.clone())
    } else {
        model.forward_generic(x.clone())
    };
    let grads = (y.clone() * r.clone()).sum().backward();
    let mut visitor = Grads {
        grads: &grads,
        out: vec![("output".into(), values(y))],
        path: Vec::new(),
    };
    model.visit(&mut visitor);
    let mut out = visitor.out;
    out.push(("input".into(), values(x.grad(&grads).expect("input grad"))));
    out
}

/// `config` with every dropout off (training mode draws masks the two paths cannot share).
fn without_dropout(mut config: ModelConfig) -> ModelConfig {
    config.blocks.iter_mut().for_each(|b| b.dropout = 0.0);
    config.dense_dropout = 0.0;
    config
}

/// Asserts two runs' tensors agree.
fn assert_same_run(a: &[(String, Vec<f32>)], b: &[(String, Vec<f32>)], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: the same gradients");
    assert!(a.len() > 3, "{what}: gradients reach the parameters");
    for ((name, p), (_, q)) in a.iter().zip(b) {
        assert_close(p, q, &format!("{what} {name}"));
    }
}

fn check(config: ModelConfig, images: usize, what: &str) {
    let device = Device::flex().autodiff();
    let init = || common::fresh_network(&config, 5);
    let s = config.input;
    let x = uniform([images, s.channels, s.height, s.width], 1, &device);
    let r = uniform([images, config.num_classes], 2, &device);
    // Training mode: one network per path, each moving its own running statistics.
    let (fused, generic) = (init().train().fork(&device), init().train().fork(&device));
    let (a, b) = (run(&fused, &x, &r, true), run(&generic, &x, &r, false));
    assert_same_run(&a, &b, &format!("{what} training"));
    let probe = uniform([images, s.channels, s.height, s.width], 3, &Device::flex());
    assert_close(
        &values(fused.valid().forward_generic(probe.clone())),
        &values(generic.valid().forward_generic(probe)),
        &format!("{what}: after the running statistics moved"),
    );
    // Inference mode (the unlearning updates' and white-box attacks' function).
    let net = init().differentiable(&Device::flex());
    let (a, b) = (run(&net, &x, &r, true), run(&net, &x, &r, false));
    assert_same_run(&a, &b, &format!("{what} inference"));
}

const CIFAR: ImageShape = ImageShape {
    channels: 3,
    height: 32,
    width: 32,
};

#[test]
fn the_tutorial_and_lab_presets_train_as_on_the_generic_ops() {
    // 11 images: one full chunk of 8 and a partial one.
    for preset in [Preset::Tutorial, Preset::Lab] {
        check(without_dropout(preset.config(CIFAR, 10)), 11, preset.name());
    }
}

#[test]
fn odd_sides_and_no_batch_norm_train_as_on_the_generic_ops() {
    let mut config = without_dropout(Preset::Tutorial.config(
        ImageShape {
            channels: 1,
            height: 13,
            width: 22,
        },
        3,
    ));
    config.batch_norm = false;
    check(config.clone(), 3, "1x13x22, no batch-norm");
    config.batch_norm = true;
    config.blocks.truncate(1);
    config.blocks[0].convs = 2;
    check(config, 9, "1x13x22, one block of two convs");
}

#[test]
fn pooling_sends_each_window_gradient_to_its_largest_input() {
    let device = Device::flex().autodiff();
    let x = uniform([2, 5, 4, 3], 4, &device).require_grad();
    let y = ops::max_pool2x2(x.clone());
    assert_eq!(y.dims(), [2, 2, 2, 3], "odd sides lose their last row");
    let pool = burn::nn::pool::MaxPool2dConfig::new([2, 2]).init();
    let reference = pool
        .forward(x.clone().permute([0, 3, 1, 2]))
        .permute([0, 2, 3, 1]);
    assert_close(&values(y.clone()), &values(reference), "pooled values");
    let grads = (y * uniform([2, 2, 2, 3], 5, &device)).sum().backward();
    let g = values(x.grad(&grads).unwrap());
    assert_eq!(
        g.iter().filter(|v| **v != 0.0).count(),
        2 * 2 * 2 * 3,
        "one input of each window gets the gradient"
    );
}
