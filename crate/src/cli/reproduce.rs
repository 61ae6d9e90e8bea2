//! `overunlearn reproduce`: the paper's experiment headless, with progress bars, a JSON report
//! and markdown tables shaped like the paper's Tables IV and V.

use std::path::{Path, PathBuf};

use clap::Args;
use overunlearn::attack::request::SubmittedLabel;
use overunlearn::attack::search::{EfficientConfig, PushConfig, Search, WalkConfig, ZooConfig};
use overunlearn::experiment::{Event, ExperimentConfig};
use overunlearn::pipeline::Pipeline;
use overunlearn::train::TrainConfig;
use overunlearn::training_run::{ModelFile, RunConfig};
use overunlearn::unlearn::Method;
use overunlearn::unlearn::finetune::SgdSettings;
use overunlearn::unlearn::first_order::{self, FirstOrderConfig, Layers, ServiceKind, Tau};
use overunlearn::{Error, Result};

use super::RunConfigArgs;
use super::crossings::{CrossingsFile, default_crossings_dir};
use super::progress::{StageBars, TrainBar};

/// Flags of `overunlearn reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// The run (with --model: the model's run, unless given; the backend is always the flag's).
    #[command(flatten)]
    common: RunConfigArgs,
    /// A JSON experiment config; flags below are ignored when it is given.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A built-in experiment (paper or tutorial); flags below are ignored when it is given.
    #[arg(long, conflicts_with = "config")]
    scenario: Option<String>,
    /// A trained model file to attack instead of training one, or a shipped model's name (a
    /// config's own `model` is used when this is not given).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Where to save the model trained here.
    #[arg(long)]
    save_model: Option<PathBuf>,
    /// Training epochs [default: 10, or the model's run's].
    #[arg(long)]
    epochs: Option<usize>,
    /// The class to forget.
    #[arg(long, default_value = "airplane")]
    class_a: String,
    /// The targeted-pushing class (and the blending class unless --blend-class is given).
    #[arg(long, default_value = "cat")]
    class_b: String,
    /// The class blended into class A's images when not class B.
    #[arg(long)]
    blend_class: Option<String>,
    /// Request sizes in percent of class A.
    #[arg(long, value_delimiter = ',', default_values = ["10", "50"])]
    percent: Vec<f64>,
    /// Submitted-label choices for the malicious requests: original (the reference code's
    /// default), prediction, class_b.
    #[arg(long, value_delimiter = ',', default_values = ["original"])]
    labels: Vec<SubmittedLabel>,
    /// The service's unlearning method: first-order, fine-tune, ascent or retrain.
    #[arg(long, default_value = "first-order")]
    method: MethodKind,
    /// The first-order tau: a number (the paper's 2e-4 by default) or `calibrated` (the service
    /// picks the largest tau whose normal probe request costs at most --budget points).
    #[arg(long, default_value = "2e-4")]
    tau: TauArg,
    /// Further fixed first-order taus to unlearn every request with too (the crafted samples are
    /// shared), e.g. the paper's 2e-4 beside the calibrated tau.
    #[arg(long, value_delimiter = ',')]
    also_tau: Vec<f64>,
    /// With --tau calibrated: the accuracy the probe may cost, in points.
    #[arg(long, default_value_t = first_order::CALIBRATION_BUDGET * 100.0)]
    budget: f64,
    /// With --tau calibrated: the probe's size in percent of class A (match the request sizes).
    #[arg(long, default_value_t = first_order::CALIBRATION_PROBE * 100.0)]
    probe: f64,
    /// Update every layer rather than the last ones.
    #[arg(long)]
    all_layers: bool,
    /// The first-order service: reference (what the paper's code computes), as_written (noise
    /// for every sample, as the paper's text says), removal (the ascent term alone), black,
    /// white or random_label.
    #[arg(long, default_value = "reference")]
    service: ServiceKind,
    /// The reference service's gradient batch size (its noise term acts on the final partial
    /// batch).
    #[arg(long, default_value_t = first_order::REFERENCE_BATCH)]
    service_batch: usize,
    /// First-order update steps (the paper: 1).
    #[arg(long, default_value_t = 1)]
    steps: usize,
    /// Boundary search: efficient, zoo or whitebox.
    #[arg(long, default_value = "efficient")]
    search: SearchKind,
    /// Iterations of the walk along the boundary toward the original (0: the first crossing).
    #[arg(long, default_value_t = WalkConfig::default().iterations)]
    walk_iterations: usize,
    /// Queries allowed per crafted sample.
    #[arg(long, default_value_t = 20_000)]
    query_budget: u64,
    /// Write the markdown tables here too.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Where the crossings found are kept, one file per model and search settings, and reused:
    /// a stopped run goes on where it was, and other methods share one crafting run.
    #[arg(long, env = "OVERUNLEARN_CROSSINGS", default_value_os_t = default_crossings_dir())]
    crossings: PathBuf,
    /// Push every sample again, ignoring (and replacing) the kept crossings.
    #[arg(long)]
    fresh: bool,
    /// Also write the crossings this experiment's requests use, gzipped, into this folder in
    /// parts (one file per goal side and request size, merged with the part already there), as
    /// `experiments/crafted/` ships them for the page and for fresh clones.
    #[arg(long)]
    ship_crafted: Option<PathBuf>,
}

/// The unlearning methods by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MethodKind {
    FirstOrder,
    FineTune,
    Ascent,
    Retrain,
}

impl MethodKind {
    const ALL: [Self; 4] = [
        Self::FirstOrder,
        Self::FineTune,
        Self::Ascent,
        Self::Retrain,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::FirstOrder => "first-order",
            Self::FineTune => "fine-tune",
            Self::Ascent => "ascent",
            Self::Retrain => "retrain",
        }
    }
}

overunlearn::named!(MethodKind, "method");

/// The boundary searches by their command-line names (each with its default settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SearchKind {
    Efficient,
    Zoo,
    WhiteBox,
}

impl SearchKind {
    const ALL: [Self; 3] = [Self::Efficient, Self::Zoo, Self::WhiteBox];

    fn name(self) -> &'static str {
        match self {
            Self::Efficient => "efficient",
            Self::Zoo => "zoo",
            Self::WhiteBox => "whitebox",
        }
    }

    fn search(self) -> Search {
        match self {
            Self::Efficient => Search::Efficient(EfficientConfig::default()),
            Self::Zoo => Search::Zoo(ZooConfig::default()),
            Self::WhiteBox => Search::WhiteBox,
        }
    }
}

overunlearn::named!(SearchKind, "search");

impl ReproduceArgs {
    /// The experiment `--config` or `--scenario` names, if either is given.
    fn named_config(&self) -> Result<Option<ExperimentConfig>> {
        if let Some(path) = &self.config {
            return read_config(path).map(Some);
        }
        self.scenario
            .as_deref()
            .map(ExperimentConfig::scenario)
            .transpose()
    }

    /// The experiment the flags describe, on top of the model's run (`model_run`, with --model)
    /// or of the defaults.
    fn flags_config(&self, model_run: Option<&RunConfig>) -> ExperimentConfig {
        let run = match model_run {
            Some(run) => {
                let mut run = self.common.apply(run.clone());
                run.train.epochs = self.epochs.unwrap_or(run.train.epochs);
                run
            }
            None => {
                let mut run = self.common.config();
                run.train = TrainConfig::for_preset(run.preset);
                run.train.epochs = self.epochs.unwrap_or(run.train.epochs);
                run
            }
        };
        let defaults = ExperimentConfig::default();
        ExperimentConfig {
            run,
            // A shipped model is named in the report; a file's path is not part of the config.
            model: self
                .model
                .as_ref()
                .map(|m| m.display().to_string())
                .filter(|m| overunlearn::pretrained::is_name(m) && !Path::new(m).exists()),
            class_a: self.class_a.clone(),
            class_b: self.class_b.clone(),
            blend_class: self.blend_class.clone(),
            percentages: self.percent.clone(),
            attacks: defaults.attacks.clone(),
            labels: self.labels.clone(),
            method: match self.method {
                MethodKind::FirstOrder => Method::FirstOrder(FirstOrderConfig {
                    tau: match self.tau {
                        TauArg::Fixed(t) => Tau::Fixed(t),
                        TauArg::Calibrated => Tau::Calibrated {
                            request_fraction: self.probe / 100.0,
                            budget: self.budget / 100.0,
                        },
                    },
                    layers: if self.all_layers {
                        Layers::All
                    } else {
                        Layers::Last
                    },
                    service: self.service,
                    batch_size: self.service_batch,
                    steps: self.steps,
                }),
                MethodKind::FineTune => Method::FineTune(SgdSettings::default()),
                MethodKind::Ascent => Method::GradientAscent(SgdSettings::default()),
                MethodKind::Retrain => Method::Retrain,
            },
            push: PushConfig {
                search: self.search.search(),
                query_budget: self.query_budget,
                walk: WalkConfig {
                    iterations: self.walk_iterations,
                    ..WalkConfig::default()
                },
                ..defaults.push
            },
            also_taus: self.also_tau.clone(),
            defences: Vec::new(),
        }
    }
}

/// `--tau`: a positive number, or `calibrated`.
#[derive(Debug, Clone, Copy)]
enum TauArg {
    Fixed(f64),
    Calibrated,
}

impl std::str::FromStr for TauArg {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s == "calibrated" {
            return Ok(Self::Calibrated);
        }
        match s.parse::<f64>() {
            Ok(t) if t.is_finite() && t > 0.0 => Ok(Self::Fixed(t)),
            _ => Err(format!(
                "{s:?} is neither a positive number nor \"calibrated\""
            )),
        }
    }
}

/// Reads an experiment config file, checked whole.
pub(super) fn read_config(path: &Path) -> Result<ExperimentConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
    ExperimentConfig::from_json(&text).map_err(|e| {
        Error::config(
            path.display(),
            format!("not a valid experiment config: {e}"),
        )
    })
}

/// Configures `pipeline` for `config`, loads its data and uses the `opened` model, or trains
/// one (saved to `save_model` if given).
pub(super) fn prepare(
    pipeline: &mut Pipeline,
    config: &ExperimentConfig,
    opened: Option<(ModelFile, String)>,
    save_model: Option<&Path>,
) -> Result<()> {
    pipeline.configure(config.clone())?;
    let images = pipeline.load()?.train;
    match opened {
        Some((file, origin)) => {
            pipeline.use_model(file, &origin)?;
        }
        None => {
            eprintln!(
                "training the {} on {images} images",
                config.run.architecture_name()
            );
            let mut bar = TrainBar::new();
            pollster::block_on(pipeline.train(|p| bar.observe(p)))?;
            if let Some(path) = save_model {
                let bytes = pollster::block_on(pipeline.model_bytes())?;
                std::fs::write(path, &bytes).map_err(|e| Error::io(path.display(), e))?;
            }
        }
    };
    Ok(())
}

/// Trains or loads the model, runs the experiment through the lab's pipeline and prints the
/// tables.
pub fn reproduce(args: ReproduceArgs) -> Result<()> {
    let named = args.named_config()?;
    // A config file or scenario names its backend; otherwise the flag does.
    let backend = named
        .as_ref()
        .map_or(args.common.backend, |c| c.run.backend);
    let device = super::device(backend)?;
    let model = args
        .model
        .clone()
        .or_else(|| named.as_ref()?.model.as_ref().map(PathBuf::from));
    let opened = match &model {
        Some(path) => Some(super::open_model(path, &device)?),
        None => None,
    };
    let config = match named {
        Some(config) => config,
        None => args.flags_config(opened.as_ref().map(|(file, ..)| &file.run)),
    };
    let source = args.common.host.source();
    let mut pipeline = Pipeline::new(backend, device, source);
    prepare(&mut pipeline, &config, opened, args.save_model.as_deref())?;
    let key = pipeline.crossings_key()?;
    let store = CrossingsFile::open(&args.crossings, key.clone(), args.fresh)?;
    let mut crossings = store.crossings.clone();
    let mut bars = StageBars::new();
    let mut event = |Event::Stage { name, done, total }| bars.observe(&name, done, total);
    let report = pollster::block_on(async {
        pipeline
            .craft(&mut crossings, |c| store.save(c), &mut event)
            .await?;
        pipeline.unlearn(&mut event).await.cloned()
    })?;
    bars.finish();
    if let Some(dir) = &args.ship_crafted {
        super::crossings::ship(dir, &crossings, pipeline.crafted().expect("crafted above"))?;
    }
    let markdown = report.markdown();
    if let Some(path) = &args.markdown {
        std::fs::write(path, &markdown).map_err(|e| Error::io(path.display(), e))?;
    }
    if args.common.host.json {
        super::print_json(&report);
    } else {
        println!("{markdown}");
        eprintln!("done in {:.0} s", report.seconds);
    }
    Ok(())
}
