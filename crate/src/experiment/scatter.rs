//! Class A's test images in the feature plane for the results: fitted once on the model
//! before any request, then each request's model drawn in the same plane.

use super::report::{FeatureView, RowFeatures};
use crate::data::Dataset;
use crate::error::Result;
use crate::metrics::Evaluation;
use crate::metrics::features::{Plane, features};
use crate::model::{Cnn, Trained};

/// Class A's test images in `model`'s feature plane, fitted on them.
pub(super) struct Scatter {
    shown: Vec<usize>,
    images: Dataset,
    plane: Plane,
    pub(super) view: FeatureView,
}

impl Scatter {
    pub(super) async fn new(
        model: &Trained,
        test: &Dataset,
        class_a: u16,
        before: &Evaluation,
    ) -> Result<Self> {
        let of_a: Vec<usize> = (0..test.len())
            .filter(|&i| test.labels[i] == class_a)
            .collect();
        let n = of_a.len().min(FeatureView::MAX);
        let shown: Vec<usize> = (0..n).map(|k| of_a[k * of_a.len() / n]).collect();
        let images = test.select(&shown);
        let rows = features(&model.model, &images).await?;
        let plane = Plane::fit(&rows, model.config.dense);
        let view = FeatureView {
            test_indices: shown.clone(),
            before: plane.project(&rows),
            predicted: shown.iter().map(|&i| before.predictions[i]).collect(),
        };
        Ok(Self {
            shown,
            images,
            plane,
            view,
        })
    }

    /// Where the shown images went under `after`, and where the `submitted` samples sit for
    /// the model `before` the request.
    pub(super) async fn row(
        &self,
        before: &Trained,
        after: &Cnn,
        evaluation: &Evaluation,
        submitted: &Dataset,
    ) -> Result<RowFeatures> {
        Ok(RowFeatures {
            points: self.plane.project(&features(after, &self.images).await?),
            predicted: self
                .shown
                .iter()
                .map(|&i| evaluation.predictions[i])
                .collect(),
            submitted: self
                .plane
                .project(&features(&before.model, submitted).await?),
        })
    }
}
