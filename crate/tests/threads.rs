//! A run's numbers do not depend on how many threads flex uses (issue 16, point 5): a shared
//! link or config must give the same numbers on a 2-core laptop and a 16-core server. Natively
//! flex runs its matmuls and element-wise kernels on rayon; the tutorial and lab presets trained
//! for a few steps on 1, 2 and 3 threads end with the same weights, bit for bit.

mod common;

use std::ops::ControlFlow;

use burn::prelude::*;
use overunlearn::data::ImageShape;
use overunlearn::model::Preset;
use overunlearn::train::{self, TrainConfig};

/// The weights after two epochs of 5 steps (batch 64, dropout on; the second epoch's masks are
/// drawn on all threads, `model::dropout`) on `threads` rayon threads.
fn weights_after_five_steps(preset: Preset, threads: usize) -> Vec<u8> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        common::seeded(|| {
            let data = common::synthetic(10, 32, 32, 9);
            let val = common::synthetic(10, 2, 32, 10);
            let config = TrainConfig {
                epochs: 2,
                batch_size: 64,
                ..TrainConfig::default()
            };
            let shape = ImageShape {
                channels: 3,
                height: 32,
                width: 32,
            };
            let device = Device::flex();
            let mut session =
                train::Session::new(&preset.config(shape, 10), &config, &data, &device, 3).unwrap();
            pollster::block_on(
                session.epoch(&data, &val, &device, &mut |_| ControlFlow::Continue(())),
            )
            .unwrap();
            pollster::block_on(session.checkpoint()).unwrap().weights
        })
    })
}

#[test]
fn the_same_seed_gives_the_same_weights_on_one_two_and_three_threads() {
    for preset in [Preset::Tutorial, Preset::Lab] {
        let one = weights_after_five_steps(preset, 1);
        for threads in [2, 3] {
            let many = weights_after_five_steps(preset, threads);
            let differing = one.iter().zip(&many).filter(|(a, b)| a != b).count();
            assert!(
                one == many,
                "{preset:?}: {differing} of {} weight bytes differ between 1 and {threads} threads",
                one.len()
            );
        }
    }
}
