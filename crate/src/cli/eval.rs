//! `overunlearn eval`: a saved model on the test split.

use std::path::PathBuf;

use clap::Args;
use overunlearn::Result;
use overunlearn::metrics::{self, Evaluation};
use serde::Serialize;

use super::RunConfigArgs;

/// Flags of `overunlearn eval`. The data, subsets and seed are the model's run's unless given.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    common: RunConfigArgs,
    /// The model file to evaluate, or a shipped model's name.
    #[arg(long, short)]
    model: PathBuf,
    /// Test images per class (default: the model's run's, usually the whole test split).
    #[arg(long)]
    test_per_class: Option<usize>,
}

/// The report of `eval --json`.
#[derive(Debug, Serialize)]
struct EvalReport<'a> {
    version: &'a str,
    model: String,
    dataset: &'a str,
    backend: &'a str,
    seed: u64,
    class_names: &'a [String],
    test: &'a Evaluation,
    seconds: f64,
}

/// Loads the model, checks it against its run's test images and evaluates it.
pub fn evaluate(args: EvalArgs) -> Result<()> {
    let device = super::device(args.common.backend)?;
    let (file, origin) = super::open_model(&args.model, &device)?;
    let mut run = args.common.apply(file.run);
    run.test_per_class = args.test_per_class.or(run.test_per_class);
    let test = run.load_test(&args.common.host.source())?;
    let trained = file.trained;
    run.check_model(&trained, &test, &origin)?;
    let start = web_time::Instant::now();
    let eval = pollster::block_on(metrics::evaluate(&trained.model, &test))?;
    let seconds = start.elapsed().as_secs_f64();
    if args.common.host.json {
        super::print_json(&EvalReport {
            version: overunlearn::VERSION,
            model: origin,
            dataset: run.dataset.name(),
            backend: run.backend.name(),
            seed: run.seed,
            class_names: &test.class_names,
            test: &eval,
            seconds,
        });
    } else {
        println!(
            "test accuracy {:.2}% on {} images ({seconds:.1} s)",
            eval.accuracy * 100.0,
            eval.count
        );
        print_per_class(&test.class_names, &eval);
    }
    Ok(())
}

/// Prints per-class accuracy, one class a line.
pub fn print_per_class(names: &[String], eval: &Evaluation) {
    for (name, acc) in names.iter().zip(&eval.per_class) {
        println!("  {name:>14} {:6.2}%", acc * 100.0);
    }
}
