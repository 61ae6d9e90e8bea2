//! `overunlearn searches`: the paper's ZOO, the efficient search (with and without the walk
//! along the boundary) and the white-box reference on the same correctly classified samples.

use std::path::PathBuf;

use clap::Args;
use overunlearn::attack::compare::{self, SearchSummary};
use overunlearn::attack::oracle::Oracle;
use overunlearn::attack::search::{
    EfficientConfig, Goal, PushConfig, Search, WalkConfig, ZooConfig,
};
use overunlearn::{Error, Result};
use serde::Serialize;

use super::RunConfigArgs;

/// Flags of `overunlearn searches`. The training split is the model's run's (its dataset,
/// batches, validation fraction and seed) unless given; the seed also seeds the sample choice
/// and the searches.
#[derive(Debug, Args)]
pub struct SearchesArgs {
    #[command(flatten)]
    common: RunConfigArgs,
    /// The trained model file to attack, or a shipped model's name.
    #[arg(long)]
    model: PathBuf,
    /// The class whose training samples are pushed.
    #[arg(long, default_value = "airplane")]
    class_a: String,
    /// Push toward this class instead of any other.
    #[arg(long)]
    target: Option<String>,
    /// Samples compared (seeded, classified correctly by the model).
    #[arg(long, default_value_t = 100)]
    samples: usize,
    /// Queries ZOO may spend per sample.
    #[arg(long, default_value_t = 20_000)]
    zoo_budget: u64,
    /// Queries the other searches may spend per sample.
    #[arg(long, default_value_t = 20_000)]
    query_budget: u64,
    /// The searches to run, of: zoo, efficient, walk (efficient + boundary walk), whitebox.
    #[arg(long, value_delimiter = ',', default_values = ["zoo", "efficient", "walk", "whitebox"])]
    searches: Vec<SearchKey>,
    /// Grid side of the efficient search's probe directions (0 = full size).
    #[arg(long, default_value_t = EfficientConfig::default().resolution)]
    resolution: usize,
    /// Iterations of the boundary walk.
    #[arg(long, default_value_t = WalkConfig::default().iterations)]
    walk_iterations: usize,
    /// Probe pairs per boundary-normal estimate of the walk.
    #[arg(long, default_value_t = WalkConfig::default().probes)]
    walk_probes: usize,
    /// Grid side of the walk's probe directions (0 = full size).
    #[arg(long, default_value_t = WalkConfig::default().resolution)]
    walk_resolution: usize,
    /// Write the markdown table here too.
    #[arg(long)]
    markdown: Option<PathBuf>,
}

/// The report of `searches --json`.
#[derive(Debug, Serialize)]
struct SearchesReport<'a> {
    version: &'a str,
    model: String,
    class_a: &'a str,
    target: Option<&'a str>,
    seed: u64,
    samples: &'a [usize],
    searches: &'a [SearchSummary],
    seconds: f64,
}

/// The searches `searches` compares: ZOO as in the paper (no walk), the efficient search's first
/// crossing, the efficient search with the walk (the default crafting), the white-box reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SearchKey {
    Zoo,
    Efficient,
    Walk,
    WhiteBox,
}

impl SearchKey {
    const ALL: [Self; 4] = [Self::Zoo, Self::Efficient, Self::Walk, Self::WhiteBox];

    fn name(self) -> &'static str {
        match self {
            Self::Zoo => "zoo",
            Self::Efficient => "efficient",
            Self::Walk => "walk",
            Self::WhiteBox => "whitebox",
        }
    }
}

overunlearn::named!(SearchKey, "search");

/// The searches asked for, each with its table name and settings.
fn searches(args: &SearchesArgs) -> Vec<(String, PushConfig)> {
    let no_walk = WalkConfig {
        iterations: 0,
        ..WalkConfig::default()
    };
    let walk = WalkConfig {
        iterations: args.walk_iterations,
        probes: args.walk_probes,
        resolution: args.walk_resolution,
    };
    let with = |search: Search, budget: u64, walk: WalkConfig| PushConfig {
        search,
        query_budget: budget,
        walk,
        ..PushConfig::default()
    };
    let efficient = || {
        Search::Efficient(EfficientConfig {
            resolution: args.resolution,
            ..EfficientConfig::default()
        })
    };
    args.searches
        .iter()
        .map(|key| match key {
            SearchKey::Zoo => (
                "ZOO (paper's settings)".into(),
                with(
                    Search::Zoo(ZooConfig::default()),
                    args.zoo_budget,
                    no_walk.clone(),
                ),
            ),
            SearchKey::Efficient => (
                "efficient, first crossing".into(),
                with(efficient(), args.query_budget, no_walk.clone()),
            ),
            SearchKey::Walk => (
                "efficient + boundary walk".into(),
                with(efficient(), args.query_budget, walk.clone()),
            ),
            SearchKey::WhiteBox => (
                "white-box (reference, not black-box)".into(),
                with(Search::WhiteBox, args.query_budget, no_walk.clone()),
            ),
        })
        .collect()
}

/// Loads the model and the training split, compares the searches and prints the table.
pub fn compare_searches(args: SearchesArgs) -> Result<()> {
    let start = web_time::Instant::now();
    let device = super::device(args.common.backend)?;
    let (file, origin) = super::open_model(&args.model, &device)?;
    let run = args.common.apply(file.run);
    let data = run.load(&args.common.host.source())?;
    let (trained, train, seed) = (file.trained, &data.train, run.seed);
    run.check_model(&trained, train, &origin)?;
    let class_a = train.class_index(&args.class_a)? as u16;
    let goal = match &args.target {
        Some(b) => Goal::Targeted(train.class_index(b)? as u16),
        None => Goal::Untargeted,
    };
    let mut oracle = Oracle::new(&trained.model, train.shape, train.num_classes());
    let sources = pollster::block_on(compare::correct_samples(
        &mut oracle,
        train,
        class_a,
        args.samples,
        seed,
    ))?;
    let mut bars = super::progress::StageBars::new();
    let summaries = pollster::block_on(compare::compare(
        &mut oracle,
        train,
        &sources,
        goal,
        &searches(&args),
        seed,
        |name, done, total| bars.observe(name, done, total),
    ))?;
    bars.finish();
    let table = compare::markdown(&summaries);
    if let Some(path) = &args.markdown {
        std::fs::write(path, &table).map_err(|e| Error::io(path.display(), e))?;
    }
    let seconds = start.elapsed().as_secs_f64();
    if args.common.host.json {
        super::print_json(&SearchesReport {
            version: overunlearn::VERSION,
            model: origin,
            class_a: &args.class_a,
            target: args.target.as_deref(),
            seed,
            samples: &sources,
            searches: &summaries,
            seconds,
        });
    } else {
        println!("{table}");
        eprintln!("done in {seconds:.0} s");
    }
    Ok(())
}
