//! JavaScript bindings: a thin layer over the core's [`Pipeline`] for the lab's Web Worker.
//! Configs and reports cross the boundary as JSON text of the core's own serde types; what is
//! kept, dropped or refused is decided by the pipeline, not here.

mod bench;
mod intuition;

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::attack::crossings::{Crossings, parts_needed};
use crate::backend::BackendKind;
use crate::data::{DataSource, Files};
use crate::experiment::{Event, ExperimentConfig};
use crate::pipeline::Pipeline;

/// Installs the panic hook so Rust panics reach the console with their message.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Starts the thread pool flex's kernels run on (the multi-threaded build only): call it once,
/// before any other call, from a worker, with the number of threads.
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

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
    ExperimentConfig::from_json(json).map_err(js_error)
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

/// One line on what an experiment config compares (see [`ExperimentConfig::summary`]).
#[wasm_bindgen]
pub fn summary(json: &str) -> Result<String, JsValue> {
    Ok(parse_config(json)?.summary())
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

/// A lab session: one backend and its pipeline. A long step takes the pipeline out while it
/// runs, so a second call meanwhile is refused instead of racing it.
#[wasm_bindgen]
pub struct Lab {
    backend: BackendKind,
    pipeline: Rc<RefCell<Option<Pipeline>>>,
}

/// Takes the pipeline out of `slot` for a long step.
fn take(slot: &RefCell<Option<Pipeline>>) -> Result<Pipeline, JsValue> {
    slot.borrow_mut()
        .take()
        .ok_or_else(|| js_error("the lab is busy with another step"))
}

/// Runs a long step on the pipeline and puts it back, whatever the step's outcome.
async fn with_pipeline<T>(
    slot: Rc<RefCell<Option<Pipeline>>>,
    step: impl AsyncFnOnce(&mut Pipeline) -> crate::error::Result<T>,
) -> Result<T, JsValue> {
    let mut pipeline = take(&slot)?;
    let outcome = step(&mut pipeline).await;
    *slot.borrow_mut() = Some(pipeline);
    outcome.map_err(js_error)
}

impl Lab {
    /// Runs a quick step on the pipeline (refused while a long one runs).
    fn quick<T>(
        &self,
        step: impl FnOnce(&mut Pipeline) -> crate::error::Result<T>,
    ) -> Result<T, JsValue> {
        let mut slot = self.pipeline.borrow_mut();
        let pipeline = slot
            .as_mut()
            .ok_or_else(|| js_error("the lab is busy with another step"))?;
        step(pipeline).map_err(js_error)
    }
}

#[wasm_bindgen]
impl Lab {
    /// Initialises `backend` ("flex" or "wgpu"); rejects with the reason when it is unusable.
    pub async fn create(backend: String) -> Result<Lab, JsValue> {
        let backend: BackendKind = backend.parse().map_err(js_error)?;
        let device = backend.device().await.map_err(js_error)?;
        let source = DataSource::Files(Files::new(""));
        Ok(Lab {
            backend,
            pipeline: Rc::new(RefCell::new(Some(Pipeline::new(backend, device, source)))),
        })
    }

    /// The backend's name.
    pub fn backend(&self) -> String {
        self.backend.name().to_string()
    }

    /// Makes an experiment config (JSON) current, keeping what still applies to it; returns
    /// JSON `{stage, config}`: the stage kept and the config with every default filled in.
    pub fn configure(&self, json: &str) -> Result<String, JsValue> {
        /// The answer, in the config's own field order (a `json!` map would sort the keys, and
        /// the page keys its stored models by this text).
        #[derive(serde::Serialize)]
        struct Configured {
            stage: crate::pipeline::Stage,
            config: ExperimentConfig,
        }
        let config = parse_config(json)?;
        let stage = self.quick(|p| p.configure(config.clone()))?;
        to_json(&Configured { stage, config })
    }

    /// How far the pipeline has come (JSON of [`crate::pipeline::Stage`]).
    pub fn stage(&self) -> Result<String, JsValue> {
        let stage = self.quick(|p| Ok(p.stage()))?;
        to_json(&stage)
    }

    /// Hands over one dataset file (e.g. `cifar-10-batches-bin/data_batch_1.bin`).
    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&self, name: String, bytes: Vec<u8>) -> Result<(), JsValue> {
        let mut files = Files::new("");
        files.insert(name, bytes);
        self.quick(|p| Ok(p.add_files(files))).map(drop)
    }

    /// Hands over an official `.tar.gz` archive; its files join the others. Returns their count.
    #[wasm_bindgen(js_name = addArchive)]
    pub fn add_archive(&self, name: String, bytes: Vec<u8>) -> Result<u32, JsValue> {
        let archive = Files::from_tar_gz(name, &bytes).map_err(js_error)?;
        let count = archive.len() as u32;
        self.quick(|p| Ok(p.add_files(archive)))?;
        Ok(count)
    }

    /// Loads the current config's data; returns the image counts and class names as JSON.
    pub fn load(&self) -> Result<String, JsValue> {
        to_json(&self.quick(Pipeline::load)?)
    }

    /// Trains the current config's model. `on_progress` gets each progress report as JSON and
    /// may return `true` to stop. Resolves to the training report as JSON.
    pub fn train(&self, on_progress: js_sys::Function) -> js_sys::Promise {
        let slot = self.pipeline.clone();
        future_to_promise(async move {
            let observe = |p: &crate::train::Progress| {
                let json = JsValue::from_str(&serde_json::to_string(p).unwrap_or_default());
                match on_progress.call1(&JsValue::NULL, &json) {
                    Ok(v) if v.is_truthy() => ControlFlow::Break(()),
                    _ => ControlFlow::Continue(()),
                }
            };
            let report = with_pipeline(slot, async |p| p.train(observe).await).await?;
            Ok(JsValue::from_str(&to_json(&report)?))
        })
    }

    /// The model as model-file bytes (a `Uint8Array`) with the run that trained it.
    #[wasm_bindgen(js_name = exportModel)]
    pub fn export_model(&self) -> js_sys::Promise {
        let slot = self.pipeline.clone();
        future_to_promise(async move {
            let bytes = with_pipeline(slot, async |p| p.model_bytes().await).await?;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// Uses model-file bytes for the current config's run (loading its data first); returns
    /// the model's architecture and classes as JSON, or the reason it does not fit.
    #[wasm_bindgen(js_name = importModel)]
    pub fn import_model(&self, name: &str, bytes: Vec<u8>) -> Result<String, JsValue> {
        to_json(&self.quick(|p| p.import_model(&bytes, name))?)
    }

    /// Uses a model the lab ships: the bytes of `NAME.bin` and the text of its report
    /// `NAME.json`, whose SHA-256 they must match; returns the model's architecture and classes
    /// as JSON.
    #[wasm_bindgen(js_name = importShipped)]
    pub fn import_shipped(&self, bytes: Vec<u8>, report: &str) -> Result<String, JsValue> {
        to_json(&self.quick(|p| p.import_shipped(&bytes, report.as_bytes()))?)
    }

    /// Which of the shipped crafted-request files (their stems, `KEY24-PART`) the current
    /// config's crafting can use against the model: the parts of its key that hold its
    /// requests' samples, not the whole store.
    #[wasm_bindgen(js_name = craftedParts)]
    pub fn crafted_parts(&self, stems: Vec<String>) -> Result<Vec<String>, JsValue> {
        self.quick(|p| {
            let key = p.crossings_key()?;
            let wanted = p.config()?.wanted_parts();
            Ok(parts_needed(&key, &stems, &wanted)
                .into_iter()
                .cloned()
                .collect())
        })
    }

    /// Test image `index` of the loaded data as JSON: `{ shape, pixels }` (CHW bytes), for
    /// the results' feature view.
    #[wasm_bindgen(js_name = testImage)]
    pub fn test_image(&self, index: usize) -> Result<String, JsValue> {
        self.quick(|p| {
            let data = p.data().ok_or_else(|| {
                crate::error::Error::config("data", "not loaded yet: load the data first")
            })?;
            if index >= data.test.len() {
                return Err(crate::error::Error::config(
                    "index",
                    format!("{index}: the test split holds {} images", data.test.len()),
                ));
            }
            let image = serde_json::json!({
                "shape": data.test.shape,
                "pixels": data.test.image(index),
            });
            Ok(image.to_string())
        })
    }

    /// Crafts the current config's requests against the model, reusing the crossings in
    /// `crafted` (crossings files' bytes, gzipped or not: the shipped parts) where their key is
    /// the config's.
    /// `on_event` hears each stage as JSON. Resolves to JSON: per request its kind, label,
    /// size, stealth and cost, and `gallery` samples (original beside submitted image, with the
    /// model's predictions).
    pub fn craft(
        &self,
        gallery: usize,
        crafted: Vec<js_sys::Uint8Array>,
        on_event: js_sys::Function,
    ) -> js_sys::Promise {
        let slot = self.pipeline.clone();
        future_to_promise(async move {
            let mut event = |e| report_event(&on_event, e);
            let view = with_pipeline(slot, async |p| {
                let mut crossings = Crossings::new(p.crossings_key()?);
                for bytes in crafted {
                    let part =
                        Crossings::from_bytes(&bytes.to_vec(), "the shipped crafted requests")?;
                    crossings.merge(part);
                }
                p.craft(&mut crossings, |_| Ok(()), &mut event).await?;
                p.crafted_view(gallery).await
            })
            .await?;
            Ok(JsValue::from_str(&to_json(&view)?))
        })
    }

    /// Puts the crafted requests through the current config's service; resolves to the
    /// experiment report as JSON.
    pub fn unlearn(&self, on_event: js_sys::Function) -> js_sys::Promise {
        let slot = self.pipeline.clone();
        future_to_promise(async move {
            let mut event = |e| report_event(&on_event, e);
            let report =
                with_pipeline(slot, async |p| Ok(p.unlearn(&mut event).await?.clone())).await?;
            Ok(JsValue::from_str(&to_json(&report)?))
        })
    }
}
