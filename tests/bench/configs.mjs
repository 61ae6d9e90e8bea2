// What each bench peer runs (crate/src/bench.rs's BenchConfig), for run.mjs and profile.mjs.

/**
 * The CPU peers' untimed training time (BenchConfig.warmup_seconds): Chromium compiles a wasm
 * module's hot functions again with its optimising compiler, on up to three of its own threads,
 * during a run's first seconds; sampled per thread (/proc) during a tutorial run of the
 * multi-threaded build, that compiler took 45% of a core at 2-3.5 s, 19% at 6-7.5 s and 5% at
 * 10-11.5 s. On 2 cores it competes with 2 training threads (tutorial: 1.4x one thread in the
 * first seconds, 1.75x from 12 s on, 2026-11-30), so the figures are the steady state after
 * 15 s, for every CPU peer alike.
 */
export const CPU_WARMUP_SECONDS = 15;

/** Steps and runs per peer kind: WebGPU here is a software adapter, so fewer of them. */
export function configFor(peer, preset, quick = false) {
  const gpu = /wgpu|webgpu/.test(peer);
  const base = { preset, batch_size: 64, inference_batch: 256, seed: 0 };
  if (quick)
    return gpu
      ? { ...base, warmup: 1, steps: 1, runs: 1, inference_batches: 1 }
      : { ...base, warmup: 1, steps: 2, runs: 2, inference_batches: 1 };
  if (gpu)
    return preset === "lab"
      ? { ...base, warmup: 1, steps: 1, runs: 1, inference_batches: 1 }
      : { ...base, warmup: 2, steps: 2, runs: 3, inference_batches: 1 };
  const cpu = { ...base, warmup_seconds: CPU_WARMUP_SECONDS };
  return preset === "lab"
    ? { ...cpu, warmup: 2, steps: 4, runs: 3, inference_batches: 2 }
    : { ...cpu, warmup: 3, steps: 10, runs: 5, inference_batches: 4 };
}
