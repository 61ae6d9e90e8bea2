//! The service's part: set up once for the experiment (its step size fixed or calibrated), it
//! unlearns every crafted request from a copy of the same model; each outcome is evaluated on
//! the test split.

use super::report::{ExperimentReport, Row, RowFeatures};
use super::scatter::Scatter;
use super::{Crafted, Event, ExperimentConfig, classes, stage};
use crate::data::Dataset;
use crate::error::Result;
use crate::metrics::{self, Evaluation, Shift};
use crate::model::Trained;
use crate::training_run::RunData;
use crate::unlearn::defence::{Check, Verdict};
use crate::unlearn::{Holdings, Service};

/// What the defended service did with a request, and each defence's finding.
type Handling = (Option<Verdict>, Vec<Check>);

/// A request unlearned once: its step size and submitted samples, and what came of it.
struct Outcome<'a> {
    tau: Option<f64>,
    submitted: &'a Dataset,
    after: Evaluation,
    handling: Handling,
    features: RowFeatures,
    update_norm: f64,
}

/// The training images the train accuracy is measured on: at most `count` (the test split's
/// size, so that this check costs no more than the test evaluation), evenly spread.
fn train_sample(train: &Dataset, count: usize) -> Dataset {
    let count = count.min(train.len());
    let indices: Vec<usize> = (0..count).map(|k| k * train.len() / count).collect();
    train.select(&indices)
}

/// Sets up the service, applies every crafted request to a copy of `model` and evaluates each
/// outcome on the test split.
pub async fn unlearn(
    config: &ExperimentConfig,
    data: &RunData,
    model: &Trained,
    crafted: &Crafted,
    event: &mut impl FnMut(Event),
) -> Result<ExperimentReport> {
    let start = web_time::Instant::now();
    let train = &data.train;
    let (class_a, class_b) = classes(config, train)?;
    let before = metrics::evaluate(&model.model, &data.test).await?;
    let scatter = Scatter::new(model, &data.test, class_a, &before).await?;
    let sample = train_sample(train, data.test.len());
    let train_accuracy = metrics::evaluate(&model.model, &sample).await?.accuracy;

    let holdings = Holdings {
        train,
        validation: &data.validation,
        training: &config.run.train,
        seed: config.run.seed,
    };
    let calibrates = config.method.calibrates();
    if calibrates {
        stage(event, "calibrating tau", 0, 1);
    }
    let mut service = Service::open(model, holdings, &config.method, class_a).await?;
    if calibrates {
        stage(event, "calibrating tau", 1, 1);
    }
    if !config.defences.is_empty() {
        stage(event, "calibrating the defences", 0, 1);
        service = service.defended(model, &config.defences).await?;
        stage(event, "calibrating the defences", 1, 1);
    }
    let mut services = vec![service.clone()];
    if service.tau().is_some() {
        services.extend(config.also_taus.iter().map(|&t| service.with_tau(t)));
    }

    let mut rows = Vec::new();
    let total = crafted.requests.len() * services.len();
    // Identical requests (Pushing-I submitted with its prediction is its original label) are
    // unlearned once per tau.
    let mut done: Vec<Outcome> = Vec::new();
    for (k, (service, prepared)) in services
        .iter()
        .flat_map(|s| std::iter::repeat(s).zip(&crafted.requests))
        .enumerate()
    {
        stage(event, "unlearning", k, total);
        let tau = service.tau();
        let submitted = &prepared.request.submitted;
        let same = |o: &&Outcome| {
            o.tau == tau
                && o.submitted.labels == submitted.labels
                && o.submitted.images == submitted.images
        };
        if !done.iter().any(|o| same(&o)) {
            let handled = service.handle(model, &prepared.request).await?;
            let after = metrics::evaluate(&handled.model, &data.test).await?;
            let features = scatter
                .row(model, &handled.model, &after, submitted)
                .await?;
            let handling = (service.guard().map(|_| handled.verdict), handled.checks);
            let update_norm = metrics::parameter_distance(&model.model, &handled.model).await?;
            done.push(Outcome {
                tau,
                submitted,
                after,
                handling,
                features,
                update_norm,
            });
        }
        let outcome = done.iter().find(same).expect("unlearned above");
        let (after, (verdict, checks)) = (&outcome.after, outcome.handling.clone());
        rows.push(Row {
            title: prepared.title(),
            percent: prepared.percent,
            tau,
            attack: prepared.attack.clone(),
            label: prepared.label,
            stats: prepared.stats(),
            accuracy: after.accuracy,
            accuracy_a: after.per_class[class_a as usize],
            accuracy_b: after.per_class[class_b as usize],
            per_class: after.per_class.clone(),
            shift: Shift::between(
                &data.test.labels,
                &before.predictions,
                &after.predictions,
                class_a,
                class_b,
            ),
            confusion: after.confusion.clone(),
            verdict,
            checks,
            features: Some(outcome.features.clone()),
            update_norm: Some(outcome.update_norm),
        });
        crate::host::yield_now().await;
    }
    stage(event, "unlearning", total, total);
    Ok(ExperimentReport {
        version: crate::VERSION.to_string(),
        config: config.clone(),
        backend: config.run.backend.name().to_string(),
        method: config.method.describe(),
        class_names: train.class_names.clone(),
        before,
        train_accuracy,
        train_sample: sample.len(),
        tau: service.tau(),
        calibration: service.calibration().cloned(),
        rows,
        features: Some(scatter.view),
        seconds: crafted.seconds + start.elapsed().as_secs_f64(),
    })
}
