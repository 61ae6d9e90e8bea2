//! JavaScript bindings: a thin layer over the core for the lab's Web Worker. Configs and reports
//! cross the boundary as JSON text of the core's own serde types; nothing is decided here.

mod bench;

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::rc::Rc;

use burn::prelude::Device;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::backend::BackendKind;
use crate::data::{DataSource, Files};
use crate::experiment::{self, Crafted, Event, ExperimentConfig};
use crate::model::{ModelFile, Trained};
use crate::training_run::{RunConfig, RunData};

/// Installs the panic hook so Rust panics reach the console with their message.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// This build's version.
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_string()
}

fn js_error(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

fn to_json(value: &impl serde::Serialize) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(js_error)
}

/// Parses and checks an experiment config (JSON of [`ExperimentConfig`]).
fn parse_config(json: &str) -> Result<ExperimentConfig, JsValue> {
    let config: ExperimentConfig =
        serde_json::from_str(json).map_err(|e| js_error(format!("experiment config: {e}")))?;
    config.validate().map_err(js_error)?;
    Ok(config)
}

/// A built-in experiment config by name (`tutorial` or `paper`), as JSON.
#[wasm_bindgen]
pub fn scenario(name: &str) -> Result<String, JsValue> {
    to_json(&ExperimentConfig::scenario(name).map_err(js_error)?)
}

/// Checks an experiment config; returns it with every default filled in (JSON), or throws an
/// error that names the problem.
#[wasm_bindgen(js_name = checkConfig)]
pub fn check_config(json: &str) -> Result<String, JsValue> {
    to_json(&parse_config(json)?)
}

/// The dataset files an experiment config reads (JSON of [`crate::training_run::DataFiles`]).
#[wasm_bindgen(js_name = dataFiles)]
pub fn data_files(json: &str) -> Result<String, JsValue> {
    to_json(&parse_config(json)?.run.files())
}

/// Calls `on_event` with a stage event as JSON `{stage, done, total}`.
fn report_event(on_event: &js_sys::Function, event: Event) {
    let Event::Stage { name, done, total } = event;
    let json = serde_json::json!({ "stage": name, "done": done, "total": total }).to_string();
    let _ = on_event.call1(&JsValue::NULL, &JsValue::from_str(&json));
}

struct State {
    backend: BackendKind,
    device: Device,
    files: Files,
    config: Option<RunConfig>,
    data: Option<Rc<RunData>>,
    trained: Option<Trained>,
    experiment: Option<(ExperimentConfig, Crafted)>,
}

impl State {
    fn ready(&self) -> Result<(RunConfig, Rc<RunData>, Trained), JsValue> {
        let no_data = || js_error("no data loaded: call load() first");
        Ok((
            self.config.clone().ok_or_else(no_data)?,
            self.data.clone().ok_or_else(no_data)?,
            self.trained
                .clone()
                .ok_or_else(|| js_error("no trained model: train or import one first"))?,
        ))
    }
}

/// A lab session: one backend, the dataset files handed over, the loaded subsets and the model.
#[wasm_bindgen]
pub struct Lab {
    state: Rc<RefCell<State>>,
}

#[wasm_bindgen]
impl Lab {
    /// Initialises `backend` ("flex" or "wgpu"); rejects with the reason when it is unusable.
    pub async fn create(backend: String) -> Result<Lab, JsValue> {
        let backend: BackendKind = backend.parse().map_err(js_error)?;
        let device = backend.device().await.map_err(js_error)?;
        Ok(Lab {
            state: Rc::new(RefCell::new(State {
                backend,
                device,
                files: Files::new(""),
                config: None,
                data: None,
                trained: None,
                experiment: None,
            })),
        })
    }

    /// The backend's name.
    pub fn backend(&self) -> String {
        self.state.borrow().backend.name().to_string()
    }

    /// Hands over one dataset file (e.g. `cifar-10-batches-bin/data_batch_1.bin`).
    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&self, name: String, bytes: Vec<u8>) {
        self.state.borrow_mut().files.insert(name, bytes);
    }

    /// Hands over an official `.tar.gz` archive; its files join the others.
    #[wasm_bindgen(js_name = addArchive)]
    pub fn add_archive(&self, name: String, bytes: Vec<u8>) -> Result<u32, JsValue> {
        let archive = Files::from_tar_gz(name, &bytes).map_err(js_error)?;
        let count = archive.len() as u32;
        self.state.borrow_mut().files.merge(archive);
        Ok(count)
    }

    /// Loads the data a run config (JSON of [`RunConfig`]) asks for; returns the image counts
    /// and class names as JSON.
    pub fn load(&self, config_json: &str) -> Result<String, JsValue> {
        let config: RunConfig =
            serde_json::from_str(config_json).map_err(|e| js_error(format!("run config: {e}")))?;
        let mut state = self.state.borrow_mut();
        let source = DataSource::Files(std::mem::take(&mut state.files));
        let loaded = config.load(&source);
        if let DataSource::Files(files) = source {
            state.files = files;
        }
        let data = loaded.map_err(js_error)?;
        let summary = serde_json::json!({
            "train": data.train.len(),
            "validation": data.validation.len(),
            "test": data.test.len(),
            "classes": data.train.class_names,
        });
        state.config = Some(config);
        state.data = Some(Rc::new(data));
        state.trained = None;
        state.experiment = None;
        Ok(summary.to_string())
    }

    /// Trains on the loaded data. `on_progress` gets each progress report as JSON and may return
    /// `true` to stop. Resolves to the run report as JSON.
    pub fn train(&self, on_progress: js_sys::Function) -> js_sys::Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let (config, data, device) = {
                let s = state.borrow();
                let config = s
                    .config
                    .clone()
                    .ok_or_else(|| js_error("no data loaded: call load() first"))?;
                let data = s
                    .data
                    .clone()
                    .ok_or_else(|| js_error("no data loaded: call load() first"))?;
                (config, data, s.device.clone())
            };
            let observe = |p: &crate::train::Progress| {
                let json = JsValue::from_str(&serde_json::to_string(p).unwrap_or_default());
                match on_progress.call1(&JsValue::NULL, &json) {
                    Ok(v) if v.is_truthy() => ControlFlow::Break(()),
                    _ => ControlFlow::Continue(()),
                }
            };
            let (trained, report) =
                crate::training_run::train_and_test(&config, &data, &device, observe)
                    .await
                    .map_err(js_error)?;
            let mut s = state.borrow_mut();
            s.trained = Some(trained);
            s.experiment = None;
            Ok(JsValue::from_str(
                &serde_json::to_string(&report).map_err(js_error)?,
            ))
        })
    }

    /// The trained model as model-file bytes (a `Uint8Array`), with the loaded run config as
    /// the run that trained it.
    #[wasm_bindgen(js_name = exportModel)]
    pub fn export_model(&self) -> js_sys::Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let (trained, run) = {
                let s = state.borrow();
                let trained = s.trained.clone();
                (trained, s.config.clone())
            };
            let trained = trained.ok_or_else(|| js_error("no trained model to export"))?;
            let run = run.ok_or_else(|| js_error("no data loaded: call load() first"))?;
            let bytes = trained.to_bytes(&run).await.map_err(js_error)?;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// Loads model-file bytes; returns its architecture and classes as JSON. A file from another
    /// format version is refused with the reason.
    #[wasm_bindgen(js_name = importModel)]
    pub fn import_model(&self, name: &str, bytes: Vec<u8>) -> Result<String, JsValue> {
        let mut state = self.state.borrow_mut();
        let trained = ModelFile::open(&bytes, &state.device, name)
            .map_err(js_error)?
            .trained;
        if let (Some(config), Some(data)) = (&state.config, &state.data) {
            config
                .check_model(&trained, &data.train, name)
                .map_err(js_error)?;
        }
        state.experiment = None;
        let summary =
            serde_json::json!({ "model": trained.config, "classes": trained.class_names });
        state.trained = Some(trained);
        Ok(summary.to_string())
    }

    /// Builds the unlearning requests of an experiment config (JSON) against the trained model:
    /// normal and every attack it names. `on_event` hears each stage as JSON. Resolves to JSON:
    /// per request its kind, label, size, stealth and cost, and `gallery` samples (original
    /// beside submitted image, with the model's predictions).
    pub fn craft(
        &self,
        config_json: String,
        gallery: usize,
        on_event: js_sys::Function,
    ) -> js_sys::Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let config = parse_config(&config_json)?;
            let (run, data, trained) = state.borrow().ready()?;
            if config.run != run {
                return Err(js_error(
                    "the experiment's run config differs from the loaded one: load it first",
                ));
            }
            let mut event = |e| report_event(&on_event, e);
            let crafted = experiment::craft(&config, &data, &trained, &mut event)
                .await
                .map_err(js_error)?;
            let mut requests = Vec::new();
            for prepared in &crafted.requests {
                let samples = prepared
                    .gallery(&trained, &data.train, gallery)
                    .await
                    .map_err(js_error)?;
                requests.push(serde_json::json!({
                    "percent": prepared.percent,
                    "attack": prepared.attack,
                    "name": prepared.attack.name(),
                    "label": prepared.label,
                    "stats": prepared.stats(),
                    "samples": samples,
                }));
            }
            let summary = serde_json::json!({
                "requests": requests,
                "seconds": crafted.seconds,
                "class_names": data.train.class_names,
            });
            state.borrow_mut().experiment = Some((config, crafted));
            Ok(JsValue::from_str(&summary.to_string()))
        })
    }

    /// Puts the crafted requests through the service with the config's (JSON) unlearning
    /// method; resolves to the experiment report as JSON. The config must build the same
    /// requests as the one they were crafted with.
    pub fn unlearn(&self, config_json: String, on_event: js_sys::Function) -> js_sys::Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let config = parse_config(&config_json)?;
            let (_, data, trained) = state.borrow().ready()?;
            let (crafted_for, crafted) = state
                .borrow()
                .experiment
                .clone()
                .ok_or_else(|| js_error("no requests crafted: call craft() first"))?;
            if !crafted_for.same_requests(&config) {
                return Err(js_error(
                    "the requests were crafted for another config: craft them again",
                ));
            }
            let mut event = |e| report_event(&on_event, e);
            let report = experiment::unlearn(&config, &data, &trained, &crafted, &mut event)
                .await
                .map_err(js_error)?;
            Ok(JsValue::from_str(&to_json(&report)?))
        })
    }
}
