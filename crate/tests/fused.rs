//! The fused inference path (`model::fused`) against burn's generic forward pass: the same
//! logits to float rounding on the shipped lab model (real weights and batch-norm statistics),
//! on fresh networks of every preset, without batch-norm, on a dense-only network, on batches
//! that do not fill the last chunk; and the same bits on 1, 2 and 3 threads.

mod common;

use burn::prelude::*;
use common::logits::{CIFAR, assert_close, assert_close_odd_sides, fresh, images};
use overunlearn::data::ImageShape;
use overunlearn::model::Preset;
use overunlearn::model::fused::FusedCnn;
use overunlearn::training_run::model_file::ModelFile;

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
    assert_close_odd_sides();
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
