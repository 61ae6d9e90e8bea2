//! The Intuition step's bindings: one [`Toy`] (points, trained network, pushed class A) and its
//! scenes as JSON.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{js_error, to_json};
use crate::backend::BackendKind;
use crate::intuition::Toy;

/// The 2-D lab: always on flex (a network of a few hundred weights gains nothing from a GPU).
#[wasm_bindgen]
pub struct Intuition {
    toy: Rc<Toy>,
}

#[wasm_bindgen]
impl Intuition {
    /// Draws the points with `seed`, trains the network and pushes class A's points.
    pub async fn create(seed: u32) -> Result<Intuition, JsValue> {
        let device = BackendKind::Flex.device().await.map_err(js_error)?;
        let toy = Toy::new(u64::from(seed), &device).await.map_err(js_error)?;
        Ok(Self { toy: Rc::new(toy) })
    }

    /// What setting up took, as JSON (see `crate::intuition::Ready`).
    pub fn ready(&self) -> Result<String, JsValue> {
        to_json(&self.toy.ready())
    }

    /// Resolves to the scene of a request of `percent` of class A unlearned at `tau`, as JSON
    /// (see `crate::intuition::Scene`).
    pub fn scene(&self, percent: f64, tau: f64) -> js_sys::Promise {
        let toy = self.toy.clone();
        future_to_promise(async move {
            let scene = toy.scene(percent, tau).await.map_err(js_error)?;
            Ok(JsValue::from_str(&to_json(&scene)?))
        })
    }
}
