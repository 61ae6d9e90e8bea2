//! Dropout's masks drawn on all threads (`model::dropout`) are burn's own, bit for bit: after the
//! same seeding, `dropout::forward` armed and burn's `Dropout::forward` give the same outputs and
//! the same input gradients, call after call (masks of several chunks, rates 0.1 and 0.5).

mod common;

use burn::nn::DropoutConfig;
use burn::prelude::*;
use overunlearn::model::dropout;

/// Outputs and input gradients of dropout (`armed`: drawn on all threads) at rates 0.1 then 0.5
/// on `x`, then once more at 0.1 (the generator's position moved by the first two masks).
fn outputs_and_gradients(x: &[f32], shape: [usize; 3], armed: bool) -> Vec<Vec<f32>> {
    let device = Device::flex();
    let ad = device.clone().autodiff();
    common::seeded(|| {
        dropout::seed(&device, 2024, armed);
        [0.1, 0.5, 0.1]
            .into_iter()
            .flat_map(|rate| {
                let layer = DropoutConfig::new(rate).init();
                let input =
                    Tensor::<3>::from_data(TensorData::new(x.to_vec(), shape), &ad).require_grad();
                let out = dropout::forward(&layer, input.clone());
                let weights = Tensor::<3>::from_data(
                    TensorData::new((0..x.len()).map(|i| (i % 7) as f32 - 3.0).collect(), shape),
                    &ad,
                );
                let grads = (out.clone() * weights).sum().backward();
                let dx = input.grad(&grads).expect("the input's gradient");
                [values(out), values(dx)]
            })
            .collect()
    })
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

#[test]
fn masks_drawn_on_all_threads_are_burns() {
    // 3 x 50 x 300 = 45,000 elements: three chunks of the parallel draw, the last one partial.
    let shape = [3, 50, 300];
    let x: Vec<f32> = (0..45_000)
        .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.01)
        .collect();
    let ours = outputs_and_gradients(&x, shape, true);
    let burns = outputs_and_gradients(&x, shape, false);
    for (k, (a, b)) in ours.iter().zip(&burns).enumerate() {
        let differ = a
            .iter()
            .zip(b)
            .filter(|(p, q)| p.to_bits() != q.to_bits())
            .count();
        assert_eq!(
            differ,
            0,
            "output/gradient {k}: {differ} of {} values differ",
            a.len()
        );
    }
    // The masks drop what the rates say (a mask of all ones would pass the comparison above).
    let dropped = |v: &Vec<f32>| v.iter().filter(|&&y| y == 0.0).count() as f64 / v.len() as f64;
    assert!(
        (dropped(&ours[0]) - 0.1).abs() < 0.01,
        "{}",
        dropped(&ours[0])
    );
    assert!(
        (dropped(&ours[2]) - 0.5).abs() < 0.01,
        "{}",
        dropped(&ours[2])
    );
    assert_ne!(
        ours[0], ours[4],
        "the third mask is not the first one again"
    );
}
