//! A whole training run, from a serialisable config to a report: load the data, draw the seeded
//! subsets, train, evaluate on the test split. The CLI and the browser both run exactly this;
//! the config is also stored in every model file, so a model remembers the run that made it.

pub mod model_file;

pub use model_file::ModelFile;

use std::ops::ControlFlow;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;
pub use crate::data::DataFiles;
use crate::data::{DataSource, Dataset, DatasetKind, ImageShape, Split, SubsetSpec};
use crate::error::{Error, Result, check_count};
use crate::metrics::{self, Evaluation};
use crate::model::{ModelConfig, Preset, Trained};
use crate::train::{Checkpoint, EpochSummary, Progress, Session, TrainConfig};

/// The fraction of each class held out for validation unless a run says otherwise (the default
/// of [`RunConfig`] and of every host's flag).
pub const DEFAULT_VALIDATION: f64 = 0.1;

/// Everything that defines a training run. With the same seed and backend, the same numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// The dataset.
    pub dataset: DatasetKind,
    /// CIFAR-10 training batch files to read (1..=5); empty reads every batch present.
    pub batches: Vec<usize>,
    /// The training subset and its validation split.
    pub train_subset: SubsetSpec,
    /// The test subset (its `validation` must be 0); its `classes` are taken from `train_subset`.
    pub test_per_class: Option<usize>,
    /// The architecture preset.
    pub preset: Preset,
    /// The number of VGG blocks when not the preset's three (1 to 8; the depth experiments):
    /// see [`ModelConfig::with_depth`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<usize>,
    /// Training settings.
    pub train: TrainConfig,
    /// The seed of every random choice.
    pub seed: u64,
    /// The backend.
    pub backend: BackendKind,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetKind::Cifar10,
            batches: Vec::new(),
            train_subset: SubsetSpec {
                validation: DEFAULT_VALIDATION,
                ..SubsetSpec::default()
            },
            test_per_class: None,
            preset: Preset::Lab,
            blocks: None,
            train: TrainConfig::default(),
            seed: 0,
            backend: BackendKind::Flex,
        }
    }
}

/// The training and test images of a run.
#[derive(Debug, Clone)]
pub struct RunData {
    /// Images to train on.
    pub train: Dataset,
    /// Held-out validation images.
    pub validation: Dataset,
    /// Test images.
    pub test: Dataset,
}

impl RunConfig {
    /// Checks every value before any work starts.
    pub fn validate(&self) -> Result<()> {
        self.train_subset
            .validate()
            .map_err(|e| e.within("train_subset"))?;
        self.train.validate().map_err(|e| e.within("train"))?;
        if !self.batches.is_empty() && self.dataset != DatasetKind::Cifar10 {
            return Err(Error::config(
                "batches",
                format!(
                    "{:?}: only CIFAR-10 has numbered batch files; leave it empty for {}",
                    self.batches,
                    self.dataset.name()
                ),
            ));
        }
        if let Some(&b) = self.batches.iter().find(|&&b| !(1..=5).contains(&b)) {
            return Err(Error::config(
                "batches",
                format!("{b} is not a CIFAR-10 training batch: give numbers from 1 to 5"),
            ));
        }
        if let Some(n) = self.blocks {
            check_count("blocks", n, 1, Self::MAX_BLOCKS)?;
            let shape = self.dataset.shape();
            if shape.height.min(shape.width) >> n == 0 {
                return Err(Error::config(
                    "blocks",
                    format!(
                        "{n} blocks halve {}'s {}x{} images below one pixel: give at most {}",
                        self.dataset.name(),
                        shape.height,
                        shape.width,
                        shape.height.min(shape.width).ilog2()
                    ),
                ));
            }
        }
        if let Some(n) = self.test_per_class {
            check_count("test_per_class", n, 1, SubsetSpec::MAX_PER_CLASS)?;
        }
        if self.seed > Self::MAX_SEED {
            return Err(Error::config(
                "seed",
                format!(
                    "{} is not allowed: give a whole number from 0 to {} (2^53 - 1, the largest \
                     a link keeps exactly)",
                    self.seed,
                    Self::MAX_SEED
                ),
            ));
        }
        Ok(())
    }

    /// The most VGG blocks a run may ask for (32x32 images halve to one pixel after five; the
    /// architecture's own check refuses more for them).
    pub const MAX_BLOCKS: usize = 8;

    /// The largest seed: JavaScript numbers (and so the page's links) hold integers exactly up
    /// to 2^53 - 1.
    pub const MAX_SEED: u64 = (1 << 53) - 1;

    /// Loads the dataset from `source` and draws the run's subsets.
    pub fn load(&self, source: &DataSource) -> Result<RunData> {
        self.validate()?;
        let files = source.open(self.dataset.layout())?;
        let train = self.dataset.read(&files, Split::Train, &self.batches)?;
        let test = self.dataset.read(&files, Split::Test, &[])?;
        self.subsets(&train, &test)
    }

    /// Loads only the test split from `source` and draws the run's test subset (the images
    /// [`Self::load`] tests on).
    pub fn load_test(&self, source: &DataSource) -> Result<Dataset> {
        self.validate()?;
        self.test_subset(&self.dataset.load(source, Split::Test)?)
    }

    /// Draws the run's subsets from already loaded splits.
    pub fn subsets(&self, train: &Dataset, test: &Dataset) -> Result<RunData> {
        let drawn = self.train_subset.apply(train, self.seed, "subset/train")?;
        Ok(RunData {
            train: drawn.main,
            validation: drawn.validation,
            test: self.test_subset(test)?,
        })
    }

    /// The run's test images: its classes of the test split, `test_per_class` of each.
    fn test_subset(&self, test: &Dataset) -> Result<Dataset> {
        let spec = SubsetSpec {
            classes: self.train_subset.classes.clone(),
            per_class: self.test_per_class,
            validation: 0.0,
        };
        Ok(spec.apply(test, self.seed, "subset/test")?.main)
    }

    /// The official files this run reads, as paths under a data directory (for hosts that
    /// fetch them one by one, like the browser).
    pub fn files(&self) -> DataFiles {
        self.dataset.files(&self.batches)
    }

    /// The architecture for `data`.
    pub fn model(&self, data: &Dataset) -> ModelConfig {
        self.architecture(data.shape, data.num_classes())
    }

    /// The architecture this run builds for images of `input` shape and `num_classes` classes:
    /// the preset's, at the run's depth.
    pub fn architecture(&self, input: ImageShape, num_classes: usize) -> ModelConfig {
        let config = self.preset.config(input, num_classes);
        match self.blocks {
            Some(depth) => config.with_depth(depth),
            None => config,
        }
    }

    /// The architecture in words: `lab preset` or `lab preset at 5 blocks`.
    pub fn architecture_name(&self) -> String {
        match self.blocks {
            Some(depth) => format!("{} preset at {depth} blocks", self.preset.name()),
            None => format!("{} preset", self.preset.name()),
        }
    }

    /// The one rule for using a trained model with this run's `data` (a split as this run
    /// draws it): the model's classes and image shape are `data`'s, and its architecture is the
    /// one this run's preset builds for them. `origin` names the model in errors.
    pub fn check_model(&self, trained: &Trained, data: &Dataset, origin: &str) -> Result<()> {
        let (input, shape) = (trained.config.input, data.shape);
        if input != shape || trained.class_names != data.class_names {
            return Err(Error::model_file(
                origin,
                format!(
                    "was trained on {}x{} images of classes {:?}; {} as this run draws it has \
                     {}x{} images of classes {:?}",
                    input.height,
                    input.width,
                    trained.class_names,
                    self.dataset.name(),
                    shape.height,
                    shape.width,
                    data.class_names
                ),
            ));
        }
        let expected = self.model(data);
        if trained.config == expected {
            return Ok(());
        }
        Err(Error::model_file(
            origin,
            format!(
                "holds a different architecture: {} where the {} builds {}",
                serde_json::to_string(&trained.config).unwrap_or_default(),
                self.architecture_name(),
                serde_json::to_string(&expected).unwrap_or_default()
            ),
        ))
    }
}

/// What a training run reports: enough to reproduce and to compare it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// The crate version that ran it.
    pub version: String,
    /// The run's config (seed and backend included).
    pub config: RunConfig,
    /// The architecture trained.
    pub model: ModelConfig,
    /// The backend's description (adapter name for wgpu).
    pub backend: String,
    /// Training, validation and test image counts.
    pub images: ImageCounts,
    /// Per-epoch history.
    pub history: Vec<EpochSummary>,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Whether training was stopped early by the user.
    pub cancelled: bool,
    /// Test-set evaluation of the kept checkpoint.
    pub test: Evaluation,
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
    /// Wall times in seconds.
    pub timings: Timings,
}

/// Image counts of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageCounts {
    /// Training images.
    pub train: usize,
    /// Validation images.
    pub validation: usize,
    /// Test images.
    pub test: usize,
}

/// Wall times of a run, in seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timings {
    /// Training (validation included).
    pub train: f64,
    /// Test evaluation.
    pub test: f64,
}

/// Trains and tests on `data` as `config` says, on `device`.
pub async fn train_and_test(
    config: &RunConfig,
    data: &RunData,
    device: &burn::prelude::Device,
    observe: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<(Trained, RunReport)> {
    let model = config.model(&data.train);
    let session = Session::new(&model, &config.train, &data.train, device, config.seed)?;
    train_to_end(config, data, device, session, None, observe).await
}

/// What a host does with each epoch's checkpoint (the CLI writes it to a folder).
pub type SaveCheckpoint<'a> = dyn FnMut(&Checkpoint) -> Result<()> + 'a;

/// Like [`train_and_test`], but starting from `resume` (a checkpoint of this run) if given, and handing a
/// checkpoint to `save` after every epoch.
pub async fn train_and_test_checkpointed(
    config: &RunConfig,
    data: &RunData,
    device: &burn::prelude::Device,
    resume: Option<&Checkpoint>,
    save: &mut SaveCheckpoint<'_>,
    observe: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<(Trained, RunReport)> {
    let session = match resume {
        Some(checkpoint) => Session::resume(checkpoint, &config.train, device)?,
        None => {
            let model = config.model(&data.train);
            Session::new(&model, &config.train, &data.train, device, config.seed)?
        }
    };
    train_to_end(config, data, device, session, Some(save), observe).await
}

/// Trains `session` to its end, then tests.
async fn train_to_end(
    config: &RunConfig,
    data: &RunData,
    device: &burn::prelude::Device,
    mut session: Session,
    mut save: Option<&mut SaveCheckpoint<'_>>,
    mut observe: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<(Trained, RunReport)> {
    while !session.is_done() {
        let done = session.epochs_done();
        session
            .epoch(&data.train, &data.validation, device, &mut observe)
            .await?;
        if let Some(save) = save.as_mut()
            && session.epochs_done() > done
        {
            save(&session.checkpoint().await?)?;
        }
    }
    let outcome = session.finish();
    let model = outcome.trained.config.clone();
    let test_start = web_time::Instant::now();
    let test = metrics::evaluate(&outcome.trained.model, &data.test).await?;
    let report = RunReport {
        version: crate::VERSION.to_string(),
        config: config.clone(),
        model,
        backend: config.backend.name().to_string(),
        images: ImageCounts {
            train: data.train.len(),
            validation: data.validation.len(),
            test: data.test.len(),
        },
        history: outcome.history,
        best_epoch: outcome.best_epoch,
        cancelled: outcome.cancelled,
        test,
        class_names: data.train.class_names.clone(),
        timings: Timings {
            train: outcome.seconds,
            test: test_start.elapsed().as_secs_f64(),
        },
    };
    Ok((outcome.trained, report))
}

/// The file beside a training checkpoint that holds the run's config.
const RUN_FILE: &str = "run.json";

/// Writes a run's checkpoint into the folder `dir`: the training state and the run's config.
pub fn save_checkpoint(dir: &Path, config: &RunConfig, checkpoint: &Checkpoint) -> Result<()> {
    checkpoint.save(dir)?;
    let path = dir.join(RUN_FILE);
    let json = serde_json::to_vec_pretty(config).expect("a run config serialises");
    std::fs::write(&path, json).map_err(|e| Error::io(path.display(), e))
}

/// Reads a run's checkpoint folder: the run's config and the training state.
pub fn load_checkpoint(dir: &Path) -> Result<(RunConfig, Checkpoint)> {
    let path = dir.join(RUN_FILE);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
    let config = serde_json::from_slice(&bytes)
        .map_err(|e| Error::data(path.display(), format!("not a run config: {e}")))?;
    Ok((config, Checkpoint::load(dir)?))
}
