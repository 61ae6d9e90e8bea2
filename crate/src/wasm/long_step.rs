//! Long steps (training, crafting, unlearning, the bench) and where they run.
//!
//! In the multi-threaded build a long step runs on a thread of the pool (rayon's, on Web
//! Workers), not on the lab's worker: its serial parts and its parallel chunks then share the
//! pool's threads, and a chunked pass starts on that thread at once instead of being handed to a
//! sleeping pool thread while the lab's worker blocks (three busy threads on two cores before;
//! issue 16, measured in README Benchmarks). The lab's worker meanwhile stays free: it relays the step's events to the
//! page's callback and hands back the callback's "stop". In the single-threaded builds the step
//! runs here, as it always did, and its events reach the callback directly.

use std::cell::RefCell;
use std::future::Future;
use std::ops::ControlFlow;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::{js_error, take};
use crate::pipeline::Pipeline;

/// `Send` where a step crosses threads (the multi-threaded build), nothing otherwise: the
/// single-threaded builds' events hold the page's callback, which stays on its thread.
#[cfg(feature = "threads")]
pub(super) trait MaybeSend: Send {}
#[cfg(feature = "threads")]
impl<T: Send> MaybeSend for T {}
/// `Send` where a step crosses threads (the multi-threaded build), nothing otherwise.
#[cfg(not(feature = "threads"))]
pub(super) trait MaybeSend {}
#[cfg(not(feature = "threads"))]
impl<T> MaybeSend for T {}

/// Where a long step's events (JSON) go: the page's callback, whose truthy answer asks the
/// step to stop.
pub(super) struct Events {
    #[cfg(feature = "threads")]
    relay: async_channel::Sender<String>,
    #[cfg(feature = "threads")]
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    #[cfg(not(feature = "threads"))]
    callback: Option<js_sys::Function>,
}

impl Events {
    /// Hands `json` to the page; `Break` once the page has asked to stop (in the multi-threaded
    /// build an answer arrives while the step goes on, so it stops at the next event).
    pub(super) fn send(&self, json: String) -> ControlFlow<()> {
        #[cfg(feature = "threads")]
        {
            use std::sync::atomic::Ordering;
            // Unbounded: the send never waits.
            let _ = self.relay.try_send(json);
            match self.stop.load(Ordering::Relaxed) {
                true => ControlFlow::Break(()),
                false => ControlFlow::Continue(()),
            }
        }
        #[cfg(not(feature = "threads"))]
        match &self.callback {
            Some(f) => ask(f, json),
            None => ControlFlow::Continue(()),
        }
    }
}

/// Calls `callback` with `json`: `Break` when it answers truthy.
fn ask(callback: &js_sys::Function, json: String) -> ControlFlow<()> {
    match callback.call1(&JsValue::NULL, &JsValue::from_str(&json)) {
        Ok(answer) if answer.is_truthy() => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    }
}

/// Runs `step` on the pipeline taken out of `slot` (refused while another step has it) and puts
/// the pipeline back whatever the outcome; `callback` hears the step's events.
pub(super) async fn run<T, F>(
    slot: Rc<RefCell<Option<Pipeline>>>,
    callback: Option<js_sys::Function>,
    step: impl FnOnce(Pipeline, Events) -> F + MaybeSend + 'static,
) -> Result<T, JsValue>
where
    T: MaybeSend + 'static,
    F: Future<Output = (Pipeline, crate::error::Result<T>)>,
{
    let pipeline = take(&slot)?;
    #[cfg(feature = "threads")]
    let (pipeline, outcome) = {
        use std::sync::atomic::{AtomicBool, Ordering};
        let (relay, events) = async_channel::unbounded();
        let (done, answer) = async_channel::bounded(1);
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let handle = Events {
            relay,
            stop: stop.clone(),
        };
        rayon::spawn(move || {
            // The future is made and polled here, on the pool's thread: only what crosses
            // (the pipeline, the answer) must be `Send`.
            let _ = done.try_send(pollster::block_on(step(pipeline, handle)));
        });
        // The relay closes when the step is over (its `Events` dropped with it).
        while let Ok(json) = events.recv().await {
            if let Some(f) = &callback
                && ask(f, json).is_break()
            {
                stop.store(true, Ordering::Relaxed);
            }
        }
        answer
            .recv()
            .await
            .map_err(|_| js_error("the step's thread ended without an answer (see the console)"))?
    };
    #[cfg(not(feature = "threads"))]
    let (pipeline, outcome) = step(pipeline, Events { callback }).await;
    *slot.borrow_mut() = Some(pipeline);
    outcome.map_err(js_error)
}
