//! `overunlearn defend`: the experiment's defences measured against many draws of its
//! requests (see `overunlearn::defend`), printed as tables or JSON.

use std::path::PathBuf;

use clap::Args;
use overunlearn::defend::DefendSettings;
use overunlearn::defend::progress::{Kept, Measured, Saved};
use overunlearn::experiment::Event;
use overunlearn::pipeline::Pipeline;
use overunlearn::{Error, Result};

use super::crossings::{CrossingsFile, default_crossings_dir};
use super::progress::StageBars;
use super::reproduce::{prepare, read_config};

/// Flags of `overunlearn defend`.
#[derive(Debug, Args)]
pub struct DefendArgs {
    #[command(flatten)]
    host: super::HostArgs,
    /// The experiment config: its model, requests and `defences` (each measured alone).
    #[arg(long)]
    config: PathBuf,
    /// A trained model file or a shipped model's name (default: the config's `model`; without
    /// either, one is trained).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Seeded draws of each request kind.
    #[arg(long, default_value_t = DefendSettings::default().draws)]
    draws: usize,
    /// Seeded normal requests each screening defence's false rejection is measured on.
    #[arg(long, default_value_t = DefendSettings::default().screening_draws)]
    screening_draws: usize,
    /// The adaptive attacker's margin floors.
    #[arg(long, value_delimiter = ',', default_values_t = DefendSettings::default().floors)]
    floors: Vec<f64>,
    /// Normal requests SISA unlearns for contrast (0 skips SISA).
    #[arg(long, default_value_t = DefendSettings::default().sisa_requests)]
    sisa_requests: usize,
    /// Write the markdown tables here too.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Where the crossings found are kept and reused (shared with `reproduce`).
    #[arg(long, env = "OVERUNLEARN_CROSSINGS", default_value_os_t = default_crossings_dir())]
    crossings: PathBuf,
}

/// Loads the model and data, measures the defences and prints the report.
pub fn defend(args: DefendArgs) -> Result<()> {
    let config = read_config(&args.config)?;
    let settings = DefendSettings {
        draws: args.draws,
        floors: args.floors.clone(),
        screening_draws: args.screening_draws,
        sisa_requests: args.sisa_requests,
        ..DefendSettings::default()
    };
    settings.validate()?;
    if config.defences.is_empty() {
        return Err(Error::config(
            args.config.display(),
            "names no defences: list them in `defences`",
        ));
    }
    let device = super::device(config.run.backend)?;
    let model = args
        .model
        .clone()
        .or_else(|| config.model.as_ref().map(PathBuf::from));
    let opened = match &model {
        Some(path) => Some(super::open_model(path, &device)?),
        None => None,
    };
    let mut pipeline = Pipeline::new(config.run.backend, device, args.host.source());
    prepare(&mut pipeline, &config, opened, None)?;
    let crossings_key = pipeline.crossings_key()?;
    let store = CrossingsFile::open(&args.crossings, crossings_key.clone(), false)?;
    let mut crossings = store.crossings.clone();
    // The measurements finished so far, beside the crossings: a stopped run resumes.
    let key = Measured::key(&crossings_key, &config, &settings);
    let measured_path = args.crossings.join(format!("defend-{}.json", &key[..24]));
    let mut measured = std::fs::read(&measured_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Measured>(&bytes).ok())
        .filter(|m| m.key == key)
        .unwrap_or_else(|| Measured::new(key));
    eprintln!(
        "measurements kept in {}: {} kinds, {} defence rows, {} floors done",
        measured_path.display(),
        measured.undefended.len(),
        measured.rows.len(),
        measured.adaptive.len()
    );
    let save_measured = |m: &Measured| {
        let tmp = measured_path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(m).expect("measurements serialise");
        std::fs::write(&tmp, bytes).map_err(|e| Error::io(tmp.display(), e))?;
        std::fs::rename(&tmp, &measured_path).map_err(|e| Error::io(measured_path.display(), e))
    };
    let mut bars = StageBars::new();
    let mut event = |Event::Stage { name, done, total }| bars.observe(&name, done, total);
    let kept = Kept {
        crossings: &mut crossings,
        measured: &mut measured,
    };
    let report = pollster::block_on(pipeline.defend(
        &settings,
        kept,
        |saved| match saved {
            Saved::Crossings(c) => store.save(c),
            Saved::Measured(m) => save_measured(m),
        },
        &mut event,
    ))?;
    bars.finish();
    let markdown = report.markdown();
    if let Some(path) = &args.markdown {
        std::fs::write(path, &markdown).map_err(|e| Error::io(path.display(), e))?;
    }
    if args.host.json {
        super::print_json(&report);
    } else {
        println!("{markdown}");
        eprintln!("done in {:.0} s", report.seconds);
    }
    Ok(())
}
