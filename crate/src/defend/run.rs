//! The measurement itself: draw the requests, put each through the undefended service and
//! through each defence, then the tolerance curve, the adaptive attacker and SISA.

use super::progress::{Kept, KeptSisa, Measured, Saved, Undefended};
use super::report::{DefenceRow, DefendReport, FloorPoint, KindRow, SisaSummary, TolerancePoint};
use super::{DefendSettings, cost, exact, reencode};
use crate::attack::adaptive;
use crate::attack::crossings::Crossings;
use crate::attack::oracle::Oracle;
use crate::attack::request::Pushed;
use crate::attack::search::Goal;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::experiment::{Attack, Event, ExperimentConfig, craft::craft_draw, stage};
use crate::metrics;
use crate::metrics::stats::mean;
use crate::model::{Cnn, Trained};
use crate::training_run::RunData;
use crate::unlearn::defence::fingerprint::nearest_distance;
use crate::unlearn::defence::{Defence, Verdict};
use crate::unlearn::{Holdings, Request, Service};

/// One request kind's draws.
struct Kind {
    name: String,
    malicious: bool,
    requests: Vec<Request>,
    /// Class-A test accuracy after the undefended service unlearned each.
    undefended: Vec<f64>,
    seconds: Vec<f64>,
}

/// `model`'s accuracy on `data` (class A's test images).
async fn accuracy_on(model: &Cnn, data: &Dataset) -> Result<f64> {
    Ok(metrics::evaluate(model, data).await?.accuracy)
}

/// Measures `config`'s defences against its requests on `model` (trained on `data`), pushing
/// samples not in `kept.crossings` yet and skipping the pieces `kept.measured` holds; `save`
/// hears the crossings every few samples and the measurements after each piece.
pub async fn defend(
    config: &ExperimentConfig,
    settings: &DefendSettings,
    data: &RunData,
    model: &Trained,
    kept: Kept<'_>,
    mut save: impl FnMut(Saved<'_>) -> Result<()>,
    event: &mut impl FnMut(Event),
) -> Result<DefendReport> {
    let Kept {
        crossings,
        measured,
    } = kept;
    let start = web_time::Instant::now();
    config.validate()?;
    settings.validate()?;
    if config.defences.is_empty() {
        return Err(Error::config(
            "defences",
            "none given: name at least one (fingerprint, near_duplicate, boundary, membership, monitor)",
        ));
    }
    let train = &data.train;
    let class_a = train.class_index(&config.class_a)? as u16;
    let class_b = train.class_index(&config.class_b)? as u16;
    let of_a: Vec<usize> = (0..data.test.len())
        .filter(|&i| data.test.labels[i] == class_a)
        .collect();
    let test_a = data.test.select(&of_a);
    let accuracy_a_before = accuracy_on(&model.model, &test_a).await?;
    let holdings = Holdings {
        train,
        validation: &data.validation,
        training: &config.run.train,
        seed: config.run.seed,
    };
    let service = Service::open(model, holdings, &config.method, class_a).await?;

    // The requests: every kind of the config, over the draws, and honest re-encoded uploads.
    let mut kinds: Vec<Kind> = Vec::new();
    let mut add = |name: String, malicious: bool, request: Request| match kinds
        .iter_mut()
        .find(|k| k.name == name)
    {
        Some(k) => k.requests.push(request),
        None => kinds.push(Kind {
            name,
            malicious,
            requests: vec![request],
            undefended: Vec::new(),
            seconds: Vec::new(),
        }),
    };
    // Each draw's samples at the first request size (its normal and crafted requests share
    // them): the adaptive attacker pushes the same samples to each floor.
    let mut first_size_sources: Vec<Vec<usize>> = Vec::new();
    for draw in 0..settings.draws {
        stage(event, "drawing requests", draw, settings.draws);
        let crafted = craft_draw(
            config,
            data,
            model,
            crossings,
            draw as u64,
            &mut |c: &Crossings| save(Saved::Crossings(c)),
            event,
        )
        .await?;
        for prepared in crafted.requests {
            let reencoded = match prepared.attack {
                Attack::Normal => Some(reencode::request(
                    &prepared.request,
                    train,
                    settings.jpeg_quality,
                )?),
                _ => None,
            };
            if prepared.attack == Attack::Normal && prepared.percent == config.percentages[0] {
                first_size_sources.push(prepared.request.sources.clone());
            }
            let title = prepared.title();
            add(
                title.clone(),
                prepared.attack != Attack::Normal,
                prepared.request,
            );
            // Honest users' uploads right after the plain ones (kinds[0] stays the normal
            // request of the first size).
            if let Some(request) = reencoded {
                add(
                    format!("{title} (JPEG {})", settings.jpeg_quality),
                    false,
                    request,
                );
            }
        }
    }
    stage(event, "drawing requests", settings.draws, settings.draws);

    // Undefended.
    let total: usize = kinds.iter().map(|k| k.requests.len()).sum();
    let mut done = 0;
    for kind in &mut kinds {
        if let Some(u) = measured.undefended(&kind.name, kind.requests.len()) {
            kind.undefended = u.accuracy_a.clone();
            kind.seconds = u.seconds.clone();
            done += kind.requests.len();
            continue;
        }
        for request in &kind.requests {
            stage(event, "unlearning undefended", done, total);
            let t = web_time::Instant::now();
            let unlearned = service.unlearn(model, request).await?;
            kind.seconds.push(t.elapsed().as_secs_f64());
            kind.undefended
                .push(accuracy_on(&unlearned, &test_a).await?);
            done += 1;
        }
        measured.undefended.push(Undefended {
            kind: kind.name.clone(),
            accuracy_a: kind.undefended.clone(),
            seconds: kind.seconds.clone(),
        });
        save(Saved::Measured(measured))?;
    }

    // Each defence alone, calibrated once for the rows, its kept state and its false rejection
    // (the state first: what a defence keeps after one normal request).
    let mut guarded = Vec::with_capacity(config.defences.len());
    for defence in &config.defences {
        let service = service.clone();
        guarded.push(
            service
                .defended(model, std::slice::from_ref(defence))
                .await?,
        );
    }
    let state = cost::state(config, model, &guarded, &kinds[0].requests[0]).await?;
    for (d, defence) in config.defences.iter().enumerate() {
        let name = format!("defence {} of {}", d + 1, config.defences.len());
        if kinds
            .iter()
            .all(|k| measured.row(defence, &k.name).is_some())
        {
            continue;
        }
        stage(event, &name, 0, total);
        let guarded = &guarded[d];
        let mut done = 0;
        for kind in &kinds {
            if measured.row(defence, &kind.name).is_some() {
                done += kind.requests.len();
                continue;
            }
            let mut row = DefenceRow {
                defence: defence.clone(),
                kind: kind.name.clone(),
                malicious: kind.malicious,
                requests: kind.requests.len(),
                flagged: 0,
                rejected: 0,
                rolled_back: 0,
                samples_rejected: 0.0,
                accuracy_a: 0.0,
                seconds: 0.0,
            };
            let (mut samples, mut rejected_samples, mut after) = (0, 0, Vec::new());
            for (request, &undefended) in kind.requests.iter().zip(&kind.undefended) {
                stage(event, &name, done, total);
                let handled = guarded.handle(model, request).await?;
                row.seconds += handled.checks.iter().map(|c| c.seconds).sum::<f64>();
                samples += request.sources.len();
                rejected_samples += handled.checks.iter().map(|c| c.rejected).sum::<usize>();
                row.flagged += usize::from(handled.checks.iter().any(|c| c.flagged));
                after.push(match &handled.verdict {
                    Verdict::Accepted => undefended,
                    Verdict::Trimmed { .. } => accuracy_on(&handled.model, &test_a).await?,
                    Verdict::Rejected { .. } => {
                        row.rejected += 1;
                        accuracy_a_before
                    }
                    Verdict::RolledBack { .. } => {
                        row.rolled_back += 1;
                        accuracy_a_before
                    }
                });
                done += 1;
            }
            row.samples_rejected = rejected_samples as f64 / samples.max(1) as f64;
            row.accuracy_a = mean(&after);
            row.seconds /= row.requests.max(1) as f64;
            measured.rows.push(row);
            save(Saved::Measured(measured))?;
        }
    }
    let rows: Vec<DefenceRow> = config
        .defences
        .iter()
        .flat_map(|d| kinds.iter().map(move |k| (d, k)))
        .filter_map(|(d, k)| measured.row(d, &k.name).cloned())
        .collect();

    let false_rejection = cost::false_rejection(
        config,
        settings,
        model,
        &guarded,
        train,
        (measured, &mut save),
        event,
    )
    .await?;
    let tolerance_curve = tolerance_curve(&kinds, train, settings);
    let adaptive = adaptive_curve(
        config,
        settings,
        model,
        &service,
        train,
        (crossings, measured, &mut save),
        &first_size_sources,
        class_b,
        &test_a,
        event,
    )
    .await?;
    // The first-order service beside SISA (measured afresh: SISA's summary may be kept).
    let first_order_accuracy = match settings.sisa_requests {
        0 => 0.0,
        _ => accuracy_on(&model.model, &data.test).await?,
    };
    let n = settings.sisa_requests.min(kinds[0].requests.len());
    let sisa = match measured.sisa(settings.sisa, n) {
        _ if n == 0 => None,
        Some(kept) => Some(kept.clone()),
        None => {
            let requests = &kinds[0].requests[..n];
            let summary =
                exact::sisa(config, settings, data, model, requests, &test_a, event).await?;
            measured.sisa = Some(KeptSisa {
                config: settings.sisa,
                requests: n,
                summary: summary.clone(),
            });
            save(Saved::Measured(measured))?;
            Some(summary)
        }
    }
    .map(|s| SisaSummary {
        first_order_seconds: mean(&kinds[0].seconds),
        first_order_accuracy,
        first_order_accuracy_a_after: mean(&kinds[0].undefended),
        ..s
    });
    Ok(DefendReport {
        version: crate::VERSION.to_string(),
        config: config.clone(),
        settings: settings.clone(),
        class_names: train.class_names.clone(),
        accuracy_a_before,
        kinds: kinds
            .iter()
            .map(|k| KindRow {
                kind: k.name.clone(),
                malicious: k.malicious,
                requests: k.requests.len(),
                size: k.requests[0].sources.len(),
                accuracy_a: mean(&k.undefended),
            })
            .collect(),
        defences: rows,
        false_rejection,
        state,
        tolerance_curve,
        adaptive,
        sisa,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The near-duplicate check's trade-off over `settings.tolerances`: honest re-encoded samples
/// rejected vs pushed samples caught, from each sample's distance to its nearest training image
/// of its class (the first draw of each kind).
fn tolerance_curve(
    kinds: &[Kind],
    train: &Dataset,
    settings: &DefendSettings,
) -> Vec<TolerancePoint> {
    let distances = |pick: &dyn Fn(&Kind) -> bool| -> Vec<f64> {
        kinds
            .iter()
            .filter(|k| pick(k))
            .filter_map(|k| k.requests.first())
            .flat_map(|r| {
                let s = &r.submitted;
                (0..s.len()).map(|i| nearest_distance(train, s.labels[i], s.image(i)))
            })
            .collect()
    };
    let honest = distances(&|k| k.name.contains("(JPEG"));
    let pushed = distances(&|k| k.name.starts_with("Pushing"));
    let share =
        |v: &[f64], t: f64| v.iter().filter(|&&d| d > t).count() as f64 / v.len().max(1) as f64;
    settings
        .tolerances
        .iter()
        .map(|&t| TolerancePoint {
            tolerance: t,
            reencoded_rejected: share(&honest, t),
            pushed_caught: share(&pushed, t),
        })
        .collect()
}

/// The adaptive attacker: for each floor, Pushing-I of the first size stopped at the floor,
/// over the draws: class-A accuracy after the undefended service and the boundary check's
/// flag rate.
#[allow(clippy::too_many_arguments)]
async fn adaptive_curve(
    config: &ExperimentConfig,
    settings: &DefendSettings,
    model: &Trained,
    service: &Service<'_>,
    train: &Dataset,
    (crossings, measured, save): (
        &Crossings,
        &mut Measured,
        &mut impl FnMut(Saved<'_>) -> Result<()>,
    ),
    first_size_sources: &[Vec<usize>],
    class_b: u16,
    test_a: &Dataset,
    event: &mut impl FnMut(Event),
) -> Result<Vec<FloorPoint>> {
    let floors = &settings.floors;
    let points = |m: &Measured| floors.iter().filter_map(|&f| m.floor(f).cloned()).collect();
    if floors.iter().all(|&f| measured.floor(f).is_some()) {
        return Ok(points(measured));
    }
    let boundary = [Defence::Boundary {
        false_rejection: settings.floor_false_rejection,
    }];
    let guarded = service.clone().defended(model, &boundary).await?;
    let mut oracle = Oracle::new(&model.model, train.shape, train.num_classes());
    let label = config.labels.first().copied().unwrap_or_default();
    for (f, &floor) in settings.floors.iter().enumerate() {
        if measured.floor(floor).is_some() {
            continue;
        }
        stage(event, "adaptive attacker", f, settings.floors.len());
        let (mut after, mut flagged, mut ssim) = (Vec::new(), 0, Vec::new());
        for sources in first_size_sources {
            let outcomes = sources
                .iter()
                .map(|&s| {
                    crossings
                        .get(Goal::Untargeted, s)
                        .cloned()
                        .ok_or_else(|| Error::config("floors", "a sample was never pushed"))
                })
                .collect::<Result<Vec<_>>>()?;
            let pushed = Pushed { outcomes };
            let request = adaptive::floored_pushing(
                &mut oracle,
                train,
                sources,
                &pushed,
                floor,
                label,
                class_b,
            )
            .await?;
            ssim.extend(request.stealth.iter().map(|s| s.ssim));
            let handled = guarded.handle(model, &request).await?;
            flagged += usize::from(!handled.verdict.applied());
            after.push(accuracy_on(&service.unlearn(model, &request).await?, test_a).await?);
        }
        measured.adaptive.push(FloorPoint {
            floor,
            accuracy_a: mean(&after),
            flagged: flagged as f64 / first_size_sources.len().max(1) as f64,
            mean_ssim: mean(&ssim),
        });
        save(Saved::Measured(measured))?;
    }
    stage(
        event,
        "adaptive attacker",
        settings.floors.len(),
        settings.floors.len(),
    );
    Ok(points(measured))
}
