//! Exact unlearning for contrast: SISA (sharded, isolated, sliced, aggregated training) on the
//! run's data, unlearning normal requests by retraining the shards that held their samples.
//! Immune to crafted pixels by construction (it never reads them); what it costs is the point.

use burn::module::Module;

use super::DefendSettings;
use super::report::SisaSummary;
use crate::data::Dataset;
use crate::error::Result;
use crate::experiment::{Event, ExperimentConfig, stage};
use crate::metrics::stats::mean;
use crate::model::Trained;
use crate::training_run::RunData;
use crate::unlearn::Request;
use crate::unlearn::sisa::Sisa;

/// SISA trained on the run's data (`epochs / slices` epochs a slice), then unlearning
/// `requests` one after another (the first-order service's time, for contrast, is the
/// caller's to fill in).
#[allow(clippy::too_many_arguments)]
pub(super) async fn sisa(
    config: &ExperimentConfig,
    settings: &DefendSettings,
    data: &RunData,
    model: &Trained,
    requests: &[Request],
    test_a: &Dataset,
    event: &mut impl FnMut(Event),
) -> Result<SisaSummary> {
    stage(event, "SISA: training", 0, 1);
    let mut training = config.run.train.clone();
    training.epochs = training.epochs.div_ceil(settings.sisa.slices).max(1);
    let start = web_time::Instant::now();
    let device = model.model.device();
    let mut sisa = Sisa::train(
        &model.config,
        &training,
        settings.sisa,
        &data.train,
        &data.validation,
        &device,
        config.run.seed,
    )
    .await?;
    let train_seconds = start.elapsed().as_secs_f64();
    let before = sisa.evaluate(&data.test).await?;
    let class_a = data.train.class_index(&config.class_a)?;
    let (mut seconds, mut slices) = (Vec::new(), Vec::new());
    for (k, request) in requests.iter().enumerate() {
        stage(event, "SISA: unlearning", k, requests.len());
        let retrained = sisa
            .unlearn(&request.sources, &data.train, &data.validation)
            .await?;
        seconds.push(retrained.seconds);
        slices.push(retrained.slice_trainings as f64);
    }
    let after = sisa.evaluate(test_a).await?;
    Ok(SisaSummary {
        shards: settings.sisa.shards,
        slices: settings.sisa.slices,
        train_seconds,
        accuracy: before.accuracy,
        accuracy_a: before.per_class[class_a],
        requests: requests.len(),
        seconds_per_request: mean(&seconds),
        slice_trainings_per_request: mean(&slices),
        accuracy_a_after: after.accuracy,
        kept_bytes: sisa.kept_bytes(),
        model_bytes: model.model.num_params() * 4,
        // The first-order service's figures are the caller's to fill in.
        ..Default::default()
    })
}
