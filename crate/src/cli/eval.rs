//! `overunlearn eval`: a saved model on the test split.

use std::path::PathBuf;

use clap::Args;
use overunlearn::data::{Split, SubsetSpec};
use overunlearn::metrics::{self, Evaluation};
use overunlearn::model::Trained;
use overunlearn::{Error, Result};
use serde::Serialize;

use super::{DataArgs, RunArgs};

/// Flags of `overunlearn eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    run: RunArgs,
    /// The model file to evaluate.
    #[arg(long, short)]
    model: PathBuf,
    /// Test images per class (default: the whole test split).
    #[arg(long)]
    test_per_class: Option<usize>,
    /// Seed of the test subset.
    #[arg(long, default_value_t = 0)]
    seed: u64,
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

/// Loads the model, checks it against the dataset and evaluates it.
pub fn run(args: EvalArgs) -> Result<()> {
    let device = super::device(args.run.backend)?;
    let (bytes, origin) = super::read_model(&args.model)?;
    let trained = Trained::from_bytes(&bytes, &device, &origin)?;
    let test = args.data.dataset.load(&args.data.source(), Split::Test)?;
    if test.shape != trained.config.input
        || trained
            .class_names
            .iter()
            .any(|c| !test.class_names.contains(c))
    {
        return Err(Error::model_file(
            &origin,
            format!(
                "was trained on {}x{} images of classes {:?}, which {} does not have",
                trained.config.input.height,
                trained.config.input.width,
                trained.class_names,
                args.data.dataset.name()
            ),
        ));
    }
    let test = SubsetSpec {
        classes: trained.class_names.clone(),
        per_class: args.test_per_class,
        validation: 0.0,
    }
    .apply(&test, args.seed, "subset/test")?
    .main;
    let start = web_time::Instant::now();
    let eval = pollster::block_on(metrics::evaluate(&trained.model, &test, &device))?;
    let seconds = start.elapsed().as_secs_f64();
    if args.run.json {
        super::print_json(&EvalReport {
            version: overunlearn::VERSION,
            model: origin,
            dataset: args.data.dataset.name(),
            backend: args.run.backend.name(),
            seed: args.seed,
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
