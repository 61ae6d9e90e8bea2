//! The lab's pipeline: the experiment config and what has been done for it (data loaded, model
//! trained or imported, requests crafted, requests unlearned). Every host drives this one type:
//! the page through the wasm binding, the CLI's `reproduce`, the tests.
//!
//! Whatever the pipeline holds is valid for its current config. A new config keeps what still
//! applies and drops the rest in one place, [`Pipeline::reset`] (as TensorFlow Playground's one
//! `reset()`): new data drops everything downstream; another run config (preset, training) drops
//! the model; another class, percentage, attack, label or search drops the crafted requests; a
//! change of the unlearning method alone keeps them, so the same requests meet another service.

use std::ops::ControlFlow;

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

use crate::attack::crossings::Crossings;
use crate::backend::BackendKind;
use crate::data::{DataSource, Files};
#[cfg(not(target_arch = "wasm32"))]
use crate::defend::{self, DefendReport, DefendSettings};
use crate::error::{Error, Result};
use crate::experiment::{self, Crafted, CraftedView, Event, ExperimentConfig, ExperimentReport};
use crate::model::Trained;
use crate::pretrained::PretrainedReport;
use crate::train::Progress;
use crate::training_run::ModelFile;
use crate::training_run::{RunConfig, RunData, RunReport};

/// How far the pipeline has come for its config; each stage holds every earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// No config yet.
    Empty,
    /// A checked config, nothing done for it.
    Configured,
    /// Its data loaded.
    Loaded,
    /// A model trained or imported for its run.
    Trained,
    /// Its requests crafted against that model.
    Crafted,
    /// Its requests unlearned: the report is ready.
    Unlearned,
}

/// The images loaded, as a host shows them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataSummary {
    /// Training images.
    pub train: usize,
    /// Validation images.
    pub validation: usize,
    /// Test images.
    pub test: usize,
    /// Class names.
    pub classes: Vec<String>,
}

/// An imported model, as a host shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Its architecture.
    pub model: crate::model::ModelConfig,
    /// Its output classes.
    pub classes: Vec<String>,
}

/// The lab's state on one backend: a config and what has been done for it.
pub struct Pipeline {
    backend: BackendKind,
    device: Device,
    source: DataSource,
    config: Option<ExperimentConfig>,
    data: Option<RunData>,
    model: Option<ModelFile>,
    crafted: Option<Crafted>,
    report: Option<ExperimentReport>,
}

impl Pipeline {
    /// An empty pipeline computing on `device` (of `backend`), reading data from `source`.
    pub fn new(backend: BackendKind, device: Device, source: DataSource) -> Self {
        Self {
            backend,
            device,
            source,
            config: None,
            data: None,
            model: None,
            crafted: None,
            report: None,
        }
    }

    /// The device it computes on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Where its data comes from.
    pub fn source(&self) -> &DataSource {
        &self.source
    }

    /// How far the pipeline has come.
    pub fn stage(&self) -> Stage {
        if self.report.is_some() {
            Stage::Unlearned
        } else if self.crafted.is_some() {
            Stage::Crafted
        } else if self.model.is_some() {
            Stage::Trained
        } else if self.data.is_some() {
            Stage::Loaded
        } else if self.config.is_some() {
            Stage::Configured
        } else {
            Stage::Empty
        }
    }

    /// The current config.
    pub fn config(&self) -> Result<&ExperimentConfig> {
        self.config
            .as_ref()
            .ok_or_else(|| Error::config("config", "no experiment config given yet"))
    }

    /// The loaded data, if it is loaded.
    pub fn data(&self) -> Option<&RunData> {
        self.data.as_ref()
    }

    /// The model trained or imported for the config's run.
    pub fn model(&self) -> Option<&Trained> {
        self.model.as_ref().map(|m| &m.trained)
    }

    /// The model as model-file bytes, with the run that trained it.
    pub async fn model_bytes(&self) -> Result<Vec<u8>> {
        let file = self.model.as_ref().ok_or_else(no_model)?;
        file.trained.to_bytes(&file.run).await
    }

    /// The requests crafted for the config.
    pub fn crafted(&self) -> Option<&Crafted> {
        self.crafted.as_ref()
    }

    /// The report of the config's experiment.
    pub fn report(&self) -> Option<&ExperimentReport> {
        self.report.as_ref()
    }

    /// Drops everything from `stage` on: the one place where work is invalidated.
    pub fn reset(&mut self, stage: Stage) {
        if stage <= Stage::Configured {
            self.config = None;
        }
        if stage <= Stage::Loaded {
            self.data = None;
        }
        if stage <= Stage::Trained {
            self.model = None;
        }
        if stage <= Stage::Crafted {
            self.crafted = None;
        }
        self.report = None;
    }

    /// Checks `config` whole and makes it current, keeping what still applies to it (see the
    /// module's rules); returns the stage it keeps.
    pub fn configure(&mut self, config: ExperimentConfig) -> Result<Stage> {
        config.validate()?;
        if config.run.backend != self.backend {
            return Err(Error::config(
                "run.backend",
                format!(
                    "{} is not this lab's backend ({}): start the lab on it",
                    config.run.backend.name(),
                    self.backend.name()
                ),
            ));
        }
        if let Some(previous) = &self.config {
            let from = if !same_data(&previous.run, &config.run) {
                Stage::Loaded
            } else if previous.run != config.run {
                Stage::Trained
            } else if !previous.same_requests(&config) {
                Stage::Crafted
            } else if *previous != config {
                Stage::Unlearned
            } else {
                return Ok(self.stage());
            };
            if from > Stage::Loaded
                && let Some(data) = &self.data
            {
                Self::check_data(&config, data)?;
            }
            self.reset(from);
        }
        self.config = Some(config);
        Ok(self.stage())
    }

    /// Adds dataset files handed over by the user; loaded data is dropped (and all after it).
    /// Returns the stage kept.
    pub fn add_files(&mut self, files: Files) -> Stage {
        match &mut self.source {
            DataSource::Files(held) => held.merge(files),
            other => *other = DataSource::Files(files),
        }
        self.reset(Stage::Loaded);
        self.stage()
    }

    /// Loads the config's data unless it is loaded.
    pub fn load(&mut self) -> Result<DataSummary> {
        if self.data.is_none() {
            self.data = Some(self.config()?.run.load(&self.source)?);
        }
        let data = self.data.as_ref().expect("loaded above");
        Self::check_data(self.config()?, data)?;
        Ok(DataSummary {
            train: data.train.len(),
            validation: data.validation.len(),
            test: data.test.len(),
            classes: data.train.class_names.clone(),
        })
    }

    /// Trains the config's model on its data (loading it first if needed); `observe` hears the
    /// progress and may stop the training.
    pub async fn train(
        &mut self,
        observe: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<RunReport> {
        self.load()?;
        self.reset(Stage::Trained);
        let run = &self.config()?.run;
        let data = self.data.as_ref().expect("loaded above");
        let (trained, report) =
            crate::training_run::train_and_test(run, data, &self.device, observe).await?;
        self.model = Some(ModelFile::trained(trained, run.clone()).await?);
        Ok(report)
    }

    /// Checks `config` against the loaded data: classes A and B are classes of it, and every
    /// request size holds at least one of class A's training images; so a misspelt class or
    /// an empty request is named before any training rather than after it.
    fn check_data(config: &ExperimentConfig, data: &RunData) -> Result<()> {
        let train = &data.train;
        let names = &train.class_names;
        let mut indices = Vec::new();
        for (field, name) in config.class_fields() {
            let index = train.class_index(name).map_err(|_| {
                Error::config(
                    field,
                    format!(
                        "{name:?} is not a class of this dataset (its classes: {})",
                        names.join(", ")
                    ),
                )
            })?;
            indices.push(index);
        }
        let a = indices[0];
        let count = train.labels.iter().filter(|&&l| l as usize == a).count();
        if count == 0 {
            return Err(Error::config(
                "class_a",
                format!(
                    "{:?} has no training images in this run's subset: keep it in \
                     run.train_subset.classes",
                    config.class_a
                ),
            ));
        }
        if let Some(&p) = config
            .percentages
            .iter()
            .find(|&&p| p / 100.0 * count as f64 <= 0.5)
        {
            return Err(Error::config(
                "percentages",
                format!(
                    "{p}% of {}'s {count} training images is less than one image: give at \
                     least {:.3}%",
                    config.class_a,
                    50.0 / count as f64 + 1e-3
                ),
            ));
        }
        Ok(())
    }

    /// Uses the model in a model file's `bytes` (named `origin` in messages) for the config's
    /// run: see [`Pipeline::use_model`].
    pub fn import_model(&mut self, bytes: &[u8], origin: &str) -> Result<ModelSummary> {
        let file = ModelFile::open(bytes, &self.device, origin)?;
        self.use_model(file, origin)
    }

    /// Uses an opened model file for the config's run (loading its data first): it must suit
    /// the data the run draws ([`RunConfig::check_model`]).
    pub fn use_model(&mut self, file: ModelFile, origin: &str) -> Result<ModelSummary> {
        self.load()?;
        let data = self.data.as_ref().expect("loaded above");
        self.config()?
            .run
            .check_model(&file.trained, &data.train, origin)?;
        self.reset(Stage::Trained);
        let summary = ModelSummary {
            model: file.trained.config.clone(),
            classes: file.trained.class_names.clone(),
        };
        self.model = Some(file);
        Ok(summary)
    }

    /// Uses a model the lab ships: `bytes` of `NAME.bin`, checked against the SHA-256 its
    /// report (`NAME.json`, [`PretrainedReport`]) records; the config must name no other model.
    pub fn import_shipped(&mut self, bytes: &[u8], report: &[u8]) -> Result<ModelSummary> {
        let report: PretrainedReport = serde_json::from_slice(report).map_err(|e| {
            Error::model_file("the shipped model's report", format!("unreadable: {e}"))
        })?;
        if let Some(named) = &self.config()?.model
            && *named != report.name
        {
            return Err(Error::config(
                "model",
                format!(
                    "this experiment starts from the shipped model {named:?}, not {:?}",
                    report.name
                ),
            ));
        }
        report.check(bytes)?;
        self.import_model(bytes, &report.name)
    }

    /// The key of the crossings the config's crafting can reuse against the current model
    /// ([`ExperimentConfig::crossings_key`]).
    pub fn crossings_key(&self) -> Result<String> {
        let model = self.model.as_ref().ok_or_else(no_model)?;
        Ok(self.config()?.crossings_key(&model.sha256))
    }

    /// Crafts the config's requests against the model, pushing only the samples `crossings`
    /// does not hold yet (it gets the new ones; `checkpoint` hears it every few samples).
    pub async fn craft(
        &mut self,
        crossings: &mut Crossings,
        checkpoint: impl FnMut(&Crossings) -> Result<()>,
        event: &mut impl FnMut(Event),
    ) -> Result<&Crafted> {
        let (config, data, model) = self.ready()?;
        let crafted =
            experiment::craft_with(config, data, model, crossings, checkpoint, event).await?;
        self.reset(Stage::Crafted);
        Ok(self.crafted.insert(crafted))
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// Measures the config's defences against many seeded draws of its requests (see
    /// [`crate::defend`]), pushing only the samples `crossings` does not hold yet.
    pub async fn defend(
        &self,
        settings: &DefendSettings,
        kept: defend::progress::Kept<'_>,
        save: impl FnMut(defend::progress::Saved<'_>) -> Result<()>,
        event: &mut impl FnMut(Event),
    ) -> Result<DefendReport> {
        let (config, data, model) = self.ready()?;
        defend::defend(config, settings, data, model, kept, save, event).await
    }

    /// The crafted requests with `samples` gallery samples each.
    pub async fn crafted_view(&self, samples: usize) -> Result<CraftedView> {
        let (_, data, model) = self.ready()?;
        let crafted = self.crafted.as_ref().ok_or_else(not_crafted)?;
        crafted.view(model, &data.train, samples).await
    }

    /// Puts the crafted requests through the config's service; returns the report.
    pub async fn unlearn(&mut self, event: &mut impl FnMut(Event)) -> Result<&ExperimentReport> {
        let (config, data, model) = self.ready()?;
        let crafted = self.crafted.as_ref().ok_or_else(not_crafted)?;
        let report = experiment::unlearn(config, data, model, crafted, event).await?;
        Ok(self.report.insert(report))
    }

    /// The config, its data and the model, or what is missing.
    fn ready(&self) -> Result<(&ExperimentConfig, &RunData, &Trained)> {
        let config = self.config()?;
        let data = self
            .data
            .as_ref()
            .ok_or_else(|| Error::config("data", "not loaded yet: load it first"))?;
        let model = self.model().ok_or_else(no_model)?;
        Ok((config, data, model))
    }
}

fn no_model() -> Error {
    Error::config("model", "none yet: train or import one first")
}

fn not_crafted() -> Error {
    Error::config("requests", "none crafted yet: craft them first")
}

/// Whether two runs read the same images (dataset, files, subsets and seed): the architecture,
/// the training settings and the backend do not change the data.
fn same_data(a: &RunConfig, b: &RunConfig) -> bool {
    RunConfig {
        preset: b.preset,
        blocks: b.blocks,
        train: b.train.clone(),
        backend: b.backend,
        ..a.clone()
    } == *b
}
