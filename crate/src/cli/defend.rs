//! `overunlearn defend`: the experiment's defences measured against many draws of its
//! requests (see `overunlearn::defend`), printed as tables or JSON.

use std::path::PathBuf;

use clap::Args;
use overunlearn::defend::DefendSettings;
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
    let store = CrossingsFile::open(&args.crossings, pipeline.crossings_key()?, false)?;
    let mut crossings = store.crossings.clone();
    let mut bars = StageBars::new();
    let mut event = |Event::Stage { name, done, total }| bars.observe(&name, done, total);
    let report = pollster::block_on(pipeline.defend(
        &settings,
        &mut crossings,
        |c| store.save(c),
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
