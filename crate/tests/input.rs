//! Model inputs: the paper's scaling and the left-right mirroring used for augmentation.

mod common;

use burn::prelude::*;
use overunlearn::model::input;
use overunlearn::tensor::read_f32;

#[test]
fn pixels_are_scaled_to_minus_half_plus_half() {
    assert_eq!(input::scale(0), -0.5);
    assert_eq!(input::scale(255), 0.5);
    assert!((input::scale(128) - 0.00196).abs() < 1e-4);
}

#[test]
fn flipped_images_are_mirrored_row_by_row() {
    let data = common::synthetic(2, 2, 4, 1);
    let device = Device::flex();
    let plain = pollster::block_on(read_f32(input::images(&data, &[1, 2], &device))).unwrap();
    let flipped = pollster::block_on(read_f32(input::images_flipped(
        &data,
        &[1, 2],
        &[true, false],
        &device,
    )))
    .unwrap();
    let n = 3 * 4 * 4;
    for c in 0..3 {
        for row in 0..4 {
            for col in 0..4 {
                let at = |x: usize| c * 16 + row * 4 + x;
                assert_eq!(flipped[at(col)], plain[at(3 - col)]);
            }
        }
    }
    assert_eq!(flipped[n..], plain[n..], "the second image is not flipped");
    assert_ne!(flipped[..n], plain[..n], "the test image is not symmetric");
}
