//! Work on all of rayon's threads where there are some (natively, and in the multi-threaded wasm
//! build), on the calling thread otherwise. Work is split into fixed pieces whose results do not
//! depend on the thread that makes them, so results are the same on any number of threads.

use std::mem::MaybeUninit;

/// `work(i, item)` for every item of `items`; the results in order.
pub(crate) fn parallel_map<T: Send, R: Send>(
    items: Vec<T>,
    work: impl Fn(usize, T) -> R + Sync + Send,
) -> Vec<R> {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        use rayon::prelude::*;
        items
            .into_par_iter()
            .enumerate()
            .map(|(i, item)| work(i, item))
            .collect()
    }
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| work(i, item))
        .collect()
}

/// A vector of `len` values made chunk by chunk by `work(i, chunk)` (`chunk` values each, the
/// last maybe fewer); with each chunk's result, in order. The values are not zeroed first
/// (zeroing cost as much as a pass of batch-norm): `work` writes each one.
///
/// # Safety
/// `work` must initialise every value of the chunk it is given.
pub(crate) unsafe fn parallel_chunks<R: Send>(
    len: usize,
    chunk: usize,
    work: impl Fn(usize, &mut [MaybeUninit<f32>]) -> R + Sync + Send,
) -> (Vec<f32>, Vec<R>) {
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let chunks: Vec<&mut [MaybeUninit<f32>]> = out.spare_capacity_mut()[..len]
        .chunks_mut(chunk.max(1))
        .collect();
    let results = parallel_map(chunks, work);
    // SAFETY: the chunks cover the first `len` values, and the caller's `work` initialised
    // each.
    unsafe { out.set_len(len) };
    (out, results)
}

/// Runs `work` (a training step: many short parallel passes with serial work between them) on
/// one of rayon's threads while every other one waits for its passes awake, taking their chunks
/// the moment they are split off. Between two passes an idle rayon thread soon goes to sleep, and
/// waking it costs more than a pass's chunk where waiting is a futex call through the browser
/// (`Atomics.wait`; std's `yield_now` does nothing in wasm, so rayon's short spin before
/// sleeping is no spin at all): the multi-threaded wasm build measured 1.4x one thread without
/// this (tutorial in Chromium; 1.55x with it). The waiting threads spin on
/// [`rayon::yield_now`], which runs any job of the pool, for as long as `work` runs; the
/// numbers do not change, only who computes them. `work` runs on whichever of rayon's threads
/// takes it (the caller's own where the caller is one of them, as the CLI's main thread is), so
/// nothing it does may depend on the thread: burn's running statistics do, and the fused
/// batch-norm settles them at each update for that reason.
pub fn with_helpers<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let done = AtomicBool::new(false);
        let owner = AtomicUsize::new(usize::MAX);
        let helpers = rayon::current_num_threads().saturating_sub(1);
        if helpers == 0 {
            return work();
        }
        let help = || {
            // A helper popped by `work`'s own thread (while it waits for a stolen chunk) would
            // spin above `work`'s frame until `work` ends: it returns at once instead.
            let me = rayon::current_thread_index();
            while !done.load(Ordering::Acquire) && me != Some(owner.load(Ordering::Acquire)) {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    std::hint::spin_loop();
                }
            }
        };
        rayon::scope(|s| {
            owner.store(
                rayon::current_thread_index().unwrap_or(usize::MAX),
                Ordering::Release,
            );
            for _ in 0..helpers {
                s.spawn(|_| help());
            }
            let result = work();
            done.store(true, Ordering::Release);
            result
        })
    }
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
    work()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Many short passes inside [`with_helpers`] on pools of 1 to 4 threads: the sums are the
    /// serial ones, and the call ends (a helper that is never told the work ended spins
    /// forever; the thread and the timeout turn that hang into a failure).
    #[test]
    fn with_helpers_gives_the_serial_results_and_ends() {
        for threads in 1..=4 {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("a pool");
                let sums = pool.install(|| {
                    with_helpers(|| {
                        (0..300u64)
                            .map(|k| {
                                let items: Vec<u64> = (0..64).collect();
                                parallel_map(items, |i, x| x * k + i as u64)
                                    .iter()
                                    .sum::<u64>()
                            })
                            .collect::<Vec<_>>()
                    })
                });
                tx.send(sums).expect("the test waits");
            });
            let sums = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("with_helpers on {threads} threads did not end"));
            let serial: Vec<u64> = (0..300u64)
                .map(|k| (0..64u64).map(|x| x * k + x).sum())
                .collect();
            assert_eq!(sums, serial, "{threads} threads");
        }
    }
}
