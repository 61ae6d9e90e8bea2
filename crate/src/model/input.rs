//! Images and labels as tensors, scaled as in the paper: pixel / 255 - 0.5, in [-0.5, 0.5].

use burn::prelude::*;

use crate::data::Dataset;

/// Scales one pixel byte into the model's input range.
pub fn scale(pixel: u8) -> f32 {
    f32::from(pixel) / 255.0 - 0.5
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
    Tensor::from_data(
        TensorData::new(values, [indices.len(), s.channels, s.height, s.width]),
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
