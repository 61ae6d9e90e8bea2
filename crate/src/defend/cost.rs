//! What the defences cost: the screening defences' false rejection of honest users, measured on
//! many more normal requests than the main table's draws, and what each defence keeps between
//! requests. Screening runs before any update, so a request costs only its
//! check (a forward pass, hashes or distances), and hundreds of seeded normal requests, plain
//! and re-encoded, pin a false rejection of about 1% down where 20 draws cannot (one flag in
//! 20 is 5%; none in 20 still allows 14%).

use super::DefendSettings;
use super::progress::{Measured, Saved};
use super::reencode;
use super::report::{DefenceState, FalseRejection};
use crate::attack::oracle::Oracle;
use crate::attack::request::{self, SubmittedLabel};
use crate::data::Dataset;
use crate::error::Result;
use crate::experiment::{Event, ExperimentConfig, craft::draw_seed, stage};
use crate::model::Trained;
use crate::unlearn::defence::Defence;
use crate::unlearn::request::forget_set;
use crate::unlearn::{Request, Service};

/// Each screening defence of `config` (the monitor needs updates and is left to the main
/// table) over `settings.screening_draws` seeded normal requests of the first size, plain and
/// re-encoded, through `guarded` (the service defended by each of `config.defences` alone);
/// rows already in `measured` are reused, new ones kept through `save`.
#[allow(clippy::too_many_arguments)]
pub async fn false_rejection(
    config: &ExperimentConfig,
    settings: &DefendSettings,
    model: &Trained,
    guarded: &[Service<'_>],
    train: &Dataset,
    (measured, save): (&mut Measured, &mut impl FnMut(Saved<'_>) -> Result<()>),
    event: &mut impl FnMut(Event),
) -> Result<Vec<FalseRejection>> {
    let n = settings.screening_draws;
    let screening: Vec<(&Defence, &Service<'_>)> = config
        .defences
        .iter()
        .zip(guarded)
        .filter(|(d, _)| !matches!(d, Defence::Monitor { .. }))
        .collect();
    if n == 0 || screening.is_empty() {
        return Ok(Vec::new());
    }
    let class_a = train.class_index(&config.class_a)? as u16;
    let class_b = train.class_index(&config.class_b)? as u16;
    let percent = config.percentages[0];
    let mut oracle = Oracle::new(&model.model, train.shape, train.num_classes());
    let mut requests: Option<Vec<(Request, Request)>> = None;
    for (d, &(defence, guarded)) in screening.iter().enumerate() {
        if measured.false_rejection(defence, n).is_some() {
            continue;
        }
        let name = format!("false rejection {} of {}", d + 1, screening.len());
        if requests.is_none() {
            let mut drawn = Vec::with_capacity(n);
            for draw in 0..n {
                stage(event, "drawing normal requests", draw, n);
                let seed = draw_seed(config.run.seed, draw as u64);
                let sources = forget_set(train, class_a, percent / 100.0, seed)?;
                let plain = request::normal(
                    &mut oracle,
                    train,
                    &sources,
                    SubmittedLabel::Original,
                    class_b,
                )
                .await?;
                let reencoded = reencode::request(&plain, train, settings.jpeg_quality)?;
                drawn.push((plain, reencoded));
            }
            requests = Some(drawn);
        }
        let guard = guarded.guard().expect("a defended service has a guard");
        let mut row = FalseRejection {
            defence: defence.clone(),
            requests: n,
            plain: 0,
            reencoded: 0,
            seconds: 0.0,
        };
        let start = web_time::Instant::now();
        for (k, (plain, reencoded)) in requests.iter().flatten().enumerate() {
            stage(event, &name, k, n);
            for (request, count) in [(plain, &mut row.plain), (reencoded, &mut row.reencoded)] {
                let screened = guard
                    .screen(&model.model, train, &request.submitted)
                    .await?;
                *count += usize::from(screened.checks.iter().any(|c| c.flagged));
            }
        }
        row.seconds = start.elapsed().as_secs_f64() / (2 * n) as f64;
        measured.false_rejection.push(row);
        save(Saved::Measured(measured))?;
    }
    Ok(screening
        .iter()
        .filter_map(|(d, _)| measured.false_rejection(d, n).cloned())
        .collect())
}

/// What each defence of `config` keeps between requests once `guarded` (the service defended
/// by each alone, fresh) has handled `normal` (the boundary check measures its class's training
/// margins then, the monitor its allowance).
pub async fn state(
    config: &ExperimentConfig,
    model: &Trained,
    guarded: &[Service<'_>],
    normal: &Request,
) -> Result<Vec<DefenceState>> {
    let mut state = Vec::new();
    for (defence, guarded) in config.defences.iter().zip(guarded) {
        let handled = guarded.handle(model, normal).await?;
        let guard = guarded.guard().expect("a defended service has a guard");
        let detail = match guard.membership() {
            Some(test) => format!(
                "loss above {:.3} judged a non-member: {:.1}% of training images, {:.1}% of \
                 held-out images",
                test.threshold,
                test.members_rejected * 100.0,
                test.held_out_rejected * 100.0
            ),
            None => handled
                .checks
                .iter()
                .map(|c| c.detail.clone())
                .collect::<Vec<_>>()
                .join("; "),
        };
        state.push(DefenceState {
            defence: defence.clone(),
            bytes: guarded.defence_bytes(),
            detail,
        });
    }
    Ok(state)
}
