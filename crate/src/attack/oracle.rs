//! Black-box access to the service's model: class probabilities for submitted images, with
//! every image counted as one query. Images are CHW values in [0, 1] (pixel / 255).

use crate::data::ImageShape;
use crate::error::Result;
use crate::model::inference::Inference;
use crate::model::{Cnn, input};

/// The model behind a probability-only interface that counts queries.
#[derive(Debug, Clone)]
pub struct Oracle {
    inference: Inference,
    shape: ImageShape,
    classes: usize,
    queries: u64,
}

impl Oracle {
    /// Wraps `model` (queried in inference mode, on the fused CPU path where it lives on flex)
    /// for images of `shape`.
    pub fn new(model: &Cnn, shape: ImageShape, classes: usize) -> Self {
        Self {
            inference: Inference::new(model, shape),
            shape,
            classes,
            queries: 0,
        }
    }

    /// The model behind the interface (for the white-box reference only).
    pub fn model(&self) -> &Cnn {
        self.inference.model()
    }

    /// Images queried so far.
    pub fn queries(&self) -> u64 {
        self.queries
    }

    /// Counts `n` queries made outside [`query`](Self::query) (white-box passes).
    pub fn charge(&mut self, n: u64) {
        self.queries += n;
    }

    /// Number of classes in each answer.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The image shape the oracle takes.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// Class probabilities of every image in `images` (a whole number of images, one after the
    /// other), `classes()` values per image.
    pub async fn query(&mut self, images: &[f32]) -> Result<Vec<f32>> {
        let n = images.len() / self.shape.len();
        debug_assert_eq!(n * self.shape.len(), images.len());
        self.queries += n as u64;
        let scaled = input::from_unit_values(images);
        self.inference.probabilities(&scaled).await
    }
}
