//! What the core asks of its host between long steps. In a browser worker, work that never
//! awaits a real event (flex resolves its reads at once) would keep the worker from hearing a
//! cancel message; the long loops therefore yield to the host's event loop now and then.

/// Lets the host's event loop run (a zero-delay timer in a browser; nothing natively).
pub async fn yield_now() {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::prelude::*;

        #[wasm_bindgen]
        extern "C" {
            #[wasm_bindgen(js_name = setTimeout)]
            fn set_timeout(handler: &js_sys::Function, ms: i32) -> JsValue;
        }
        let tick = js_sys::Promise::new(&mut |resolve, _| {
            set_timeout(&resolve, 0);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(tick).await;
    }
}
