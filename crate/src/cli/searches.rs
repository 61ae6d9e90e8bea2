//! `overunlearn searches`: the paper's ZOO, the efficient search (with and without the walk
//! along the boundary) and the white-box reference on the same correctly classified samples.

use std::path::PathBuf;

use clap::Args;
use overunlearn::attack::compare::{self, SearchSummary};
use overunlearn::attack::oracle::Oracle;
use overunlearn::attack::search::{
    EfficientConfig, Goal, PushConfig, Search, WalkConfig, ZooConfig,
};
use overunlearn::data::SubsetSpec;
use overunlearn::model::Trained;
use overunlearn::run::RunConfig;
use overunlearn::{Error, Result};
use serde::Serialize;

use super::{DataArgs, RunArgs};

/// Flags of `overunlearn searches`.
#[derive(Debug, Args)]
pub struct SearchesArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    run: RunArgs,
    /// The trained model file to attack.
    #[arg(long)]
    model: PathBuf,
    /// CIFAR-10 training batch files the model was trained on (default: all present).
    #[arg(long, value_delimiter = ',')]
    batches: Vec<usize>,
    /// The validation fraction the model was trained with (it fixes the training split).
    #[arg(long, default_value_t = 0.2)]
    validation: f64,
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
    searches: Vec<String>,
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
    /// The seed of the sample choice and of the searches.
    #[arg(long, default_value_t = 0)]
    seed: u64,
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

/// The searches compared, by key: ZOO as in the paper (no walk), the efficient search's first
/// crossing, the efficient search with the walk (the default crafting), the white-box reference.
fn searches(args: &SearchesArgs) -> Result<Vec<(String, PushConfig)>> {
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
        .map(|key| {
            Ok(match key.as_str() {
                "zoo" => (
                    "ZOO (paper's settings)".into(),
                    with(
                        Search::Zoo(ZooConfig::default()),
                        args.zoo_budget,
                        no_walk.clone(),
                    ),
                ),
                "efficient" => (
                    "efficient, first crossing".into(),
                    with(efficient(), args.query_budget, no_walk.clone()),
                ),
                "walk" => (
                    "efficient + boundary walk".into(),
                    with(efficient(), args.query_budget, walk.clone()),
                ),
                "whitebox" => (
                    "white-box (reference, not black-box)".into(),
                    with(Search::WhiteBox, args.query_budget, no_walk.clone()),
                ),
                other => {
                    return Err(Error::config(
                        "searches",
                        format!("unknown search {other:?}"),
                    ));
                }
            })
        })
        .collect()
}

/// Loads the model and the training split, compares the searches and prints the table.
pub fn run(args: SearchesArgs) -> Result<()> {
    let start = web_time::Instant::now();
    let run = RunConfig {
        dataset: args.data.dataset,
        batches: args.batches.clone(),
        train_subset: SubsetSpec {
            validation: args.validation,
            ..SubsetSpec::default()
        },
        seed: args.seed,
        backend: args.run.backend,
        ..RunConfig::default()
    };
    let data = run.load(&args.data.source())?;
    let device = super::device(args.run.backend)?;
    let (bytes, origin) = super::read_model(&args.model)?;
    let trained = Trained::from_bytes(&bytes, &device, &origin)?;
    let train = &data.train;
    if trained.config.input != train.shape || trained.class_names != train.class_names {
        return Err(Error::model_file(
            &origin,
            "was trained on another dataset's images or classes",
        ));
    }
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
        args.seed,
    ))?;
    let mut bars = super::progress::StageBars::new();
    let summaries = pollster::block_on(compare::compare(
        &mut oracle,
        train,
        &sources,
        goal,
        &searches(&args)?,
        args.seed,
        |name, done, total| bars.observe(name, done, total),
    ))?;
    bars.finish();
    let table = compare::markdown(&summaries);
    if let Some(path) = &args.markdown {
        std::fs::write(path, &table).map_err(|e| Error::io(path.display(), e))?;
    }
    let seconds = start.elapsed().as_secs_f64();
    if args.run.json {
        super::print_json(&SearchesReport {
            version: overunlearn::VERSION,
            model: origin,
            class_a: &args.class_a,
            target: args.target.as_deref(),
            seed: args.seed,
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
