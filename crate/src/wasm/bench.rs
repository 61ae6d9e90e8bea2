//! The benchmark in the browser: [`crate::bench::bench`] on the lab's backend and the files
//! handed over (CIFAR-10's `batches.meta.txt` and `data_batch_1.bin`). The bench page in
//! `tests/bench/` calls it beside TensorFlow.js.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{Lab, js_error};
use crate::bench::{self, BenchConfig};
use crate::data::{DatasetKind, Split};

#[wasm_bindgen]
impl Lab {
    /// Measures training and inference throughput (config: JSON of [`BenchConfig`]) on the
    /// first images of `data_batch_1`; resolves to the report as JSON.
    pub fn bench(&self, config_json: &str) -> Result<js_sys::Promise, JsValue> {
        let config: BenchConfig = serde_json::from_str(config_json)
            .map_err(|e| js_error(format!("bench config: {e}")))?;
        let backend = self.backend;
        let (source, device) = self.quick(|p| Ok((p.source().clone(), p.device().clone())))?;
        Ok(future_to_promise(async move {
            let kind = DatasetKind::Cifar10;
            let opened = source.open(kind.layout()).map_err(js_error)?;
            let data = kind.read(&opened, Split::Train, &[1]).map_err(js_error)?;
            let report = bench::bench(&config, &data, backend, &device)
                .await
                .map_err(js_error)?;
            Ok(JsValue::from_str(
                &serde_json::to_string(&report).map_err(js_error)?,
            ))
        }))
    }
}
