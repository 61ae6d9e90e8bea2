//! Images and labels as tensors, scaled as in the paper: pixel / 255 - 0.5, in [-0.5, 0.5].
//!
//! The attacks search on the unit scale, pixel / 255 in [0, 1], and hand the model their
//! images shifted by [`from_unit`]; this module is the one place that knows both scales.

use burn::prelude::*;

use crate::data::{Dataset, ImageShape};

/// What the model's input range is shifted by from the unit scale.
const OFFSET: f32 = 0.5;

/// One pixel byte on the unit scale [0, 1] the attacks search on.
pub fn unit(pixel: u8) -> f32 {
    f32::from(pixel) / 255.0
}

/// Pixel bytes on the unit scale, one value each.
pub fn unit_pixels(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| unit(p)).collect()
}

/// The nearest pixel bytes of unit-scale values (clamped to [0, 255]): the 8-bit images a
/// user can submit.
pub fn quantise(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect()
}

/// Scales one pixel byte into the model's input range.
pub fn scale(pixel: u8) -> f32 {
    unit(pixel) - OFFSET
}

/// Unit-scale images of `shape` (CHW, one after the other) as a `[n, channels, height, width]`
/// tensor, still on the unit scale (so that a gradient can be taken with respect to it).
pub fn unit_tensor(values: Vec<f32>, shape: ImageShape, device: &Device) -> Tensor<4> {
    let n = values.len() / shape.len();
    Tensor::from_data(
        TensorData::new(values, [n, shape.channels, shape.height, shape.width]),
        device,
    )
}

/// Unit-scale images shifted into the model's input range.
pub fn from_unit(images: Tensor<4>) -> Tensor<4> {
    images.sub_scalar(OFFSET)
}

/// Unit-scale values shifted into the model's input range, on the host.
pub fn from_unit_values(values: &[f32]) -> Vec<f32> {
    values.iter().map(|&v| v - OFFSET).collect()
}

/// The images at `indices` as scaled values (CHW, one after the other), on the host.
pub fn scaled(dataset: &Dataset, indices: &[usize]) -> Vec<f32> {
    scaled_flipped(dataset, indices, &[])
}

/// Like [`scaled`], mirroring image `k` left-right where `flips[k]` is true (missing: false).
fn scaled_flipped(dataset: &Dataset, indices: &[usize], flips: &[bool]) -> Vec<f32> {
    let s = dataset.shape;
    let mut values = Vec::with_capacity(indices.len() * s.len());
    for (k, &i) in indices.iter().enumerate() {
        let image = dataset.image(i);
        if flips.get(k).copied().unwrap_or(false) {
            for row in image.chunks_exact(s.width) {
                values.extend(row.iter().rev().map(|&p| scale(p)));
            }
        } else {
            values.extend(image.iter().map(|&p| scale(p)));
        }
    }
    values
}

/// The images at `indices` as a `[n, channels, height, width]` tensor of scaled values.
pub fn images(dataset: &Dataset, indices: &[usize], device: &Device) -> Tensor<4> {
    images_flipped(dataset, indices, &[], device)
}

/// Like [`images`], mirroring image `k` left-right where `flips[k]` is true (missing: false).
pub fn images_flipped(
    dataset: &Dataset,
    indices: &[usize],
    flips: &[bool],
    device: &Device,
) -> Tensor<4> {
    let s = dataset.shape;
    Tensor::from_data(
        TensorData::new(
            scaled_flipped(dataset, indices, flips),
            [indices.len(), s.channels, s.height, s.width],
        ),
        device,
    )
}

/// The labels at `indices` as an int tensor.
pub fn labels(dataset: &Dataset, indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = indices
        .iter()
        .map(|&i| i64::from(dataset.labels[i]))
        .collect();
    Tensor::from_data(TensorData::new(values, [indices.len()]), device)
}
