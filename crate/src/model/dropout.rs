//! Dropout with its masks drawn on all threads: burn's masks, bit for bit (issue 16).
//!
//! burn's [`Dropout`] draws its mask from flex's random generator one element at a time, on one
//! thread: ChaCha12 (rand's `StdRng`) seeded by `Backend::seed`, two consecutive 32-bit words an
//! element read as a `u64` (low word first), the element kept when that is below `keep * 2^64`
//! (rand's `Bernoulli`). ChaCha12 can be entered at any word, so here a mask is cut into fixed
//! chunks, each drawn on a thread of its own from its own offset in the same stream: burn's mask
//! whatever the thread count (README, Benchmarks: it was the largest serial part of a step).
//!
//! Drawing burn's mask needs the stream's position, which is known only from a seeding after
//! which nothing but dropout draws until the next one: a training epoch after the first (every
//! parameter already drawn), fine-tuning's SGD, the bench's steps. [`seed`] with `armed` says so;
//! from there each mask is drawn here and the position moves two words an element, as burn's
//! generator would. After any other seeding (one followed by a network's initialisation, which
//! burn draws lazily, at each parameter's first use) the masks stay burn's own. Every seeding of
//! the backend goes through [`seed`] (`crate/tests/architecture.rs`).

use std::sync::Mutex;

use burn::nn::Dropout;
use burn::prelude::*;
use chacha20::ChaCha12Rng;
use chacha20::rand_core::{Rng, SeedableRng};

use crate::parallel::parallel_chunks;

/// Elements of a mask a thread draws at a time: fixed, so the split is the same on any threads.
const CHUNK: usize = 1 << 14;

/// Where the backend's generator stands, while it is known.
#[derive(Debug, Clone, Copy)]
struct Position {
    /// The seed of the last [`seed`].
    seed: u64,
    /// Words drawn since (by masks).
    words: u128,
}

/// The generator's position after an armed [`seed`] on flex; `None` otherwise.
static POSITION: Mutex<Option<Position>> = Mutex::new(None);

/// Seeds `device`'s random generator (weights, dropout). `armed`: nothing but dropout draws
/// from it until the next seeding, so the masks may be drawn here (flex only).
pub fn seed(device: &Device, seed: u64, armed: bool) {
    device.seed(seed);
    let known = armed && device.clone().without_autodiff() == Device::flex();
    *POSITION.lock().unwrap_or_else(|e| e.into_inner()) =
        known.then_some(Position { seed, words: 0 });
}

/// `layer` on `input`: burn's [`Dropout::forward`], with the mask drawn on all threads where
/// the generator's position is known.
pub fn forward<const D: usize>(layer: &Dropout, input: Tensor<D>) -> Tensor<D> {
    if !layer.training.is_enabled() || !input.device().is_autodiff() || layer.prob == 0.0 {
        return input;
    }
    let keep = 1.0 - layer.prob;
    let shape = input.shape();
    let n = shape.num_elements();
    let start = {
        let mut position = POSITION.lock().unwrap_or_else(|e| e.into_inner());
        position.as_mut().map(|p| {
            let start = *p;
            p.words += 2 * n as u128;
            start
        })
    };
    let Some(start) = start else {
        return layer.forward(input);
    };
    let mask = Tensor::from_data(
        TensorData::new(mask(start, n, keep), shape),
        &input.device(),
    );
    // burn's own two products, in its order: the same bits forward and backward.
    (input * mask) * (1.0 / keep)
}

/// `n` elements of a Bernoulli(`keep`) mask (1.0 kept, 0.0 dropped) drawn from `start`.
fn mask(start: Position, n: usize, keep: f64) -> Vec<f32> {
    // rand's `Bernoulli::new(keep)` for keep in [0, 1) (dropout's rate is in (0, 1)).
    let threshold = (keep * 2.0 * (1u64 << 63) as f64) as u64;
    // SAFETY: every value of each chunk is written.
    let (mask, _) = unsafe {
        parallel_chunks(n, CHUNK, |c, out| {
            let mut rng = ChaCha12Rng::seed_from_u64(start.seed);
            rng.set_word_pos(start.words + 2 * (c * CHUNK) as u128);
            for value in out {
                value.write(if rng.next_u64() < threshold { 1.0 } else { 0.0 });
            }
        })
    };
    mask
}
