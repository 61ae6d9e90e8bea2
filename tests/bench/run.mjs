// The browser side of scripts/bench.sh: serves the bench page on 127.0.0.1, runs each peer in a
// fresh page of one headless Chromium and prints one JSON line per figure on stdout.
//   node run.mjs --pkg DIR --data DIR [--presets tutorial,lab] [--peers ours-flex,...] [--quick]
//                [--webgpu-lab]
// WebGPU here is Chromium's software adapter (SwiftShader): one `lab` step takes about a minute
// for this project and three for TF.js, so the `lab` preset runs on WebGPU only with
// --webgpu-lab (one warm-up step, one timed step).
import { chromium } from "playwright-core";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const opt = {};
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (!arg.startsWith("--")) continue;
  const next = process.argv[i + 1];
  opt[arg.slice(2)] = next === undefined || next.startsWith("--") ? true : next;
}
const presets = (opt.presets ?? "tutorial,lab").split(",");
const peers = (
  opt.peers ?? "ours-flex,ours-flex-threads,tfjs-wasm,tfjs-wasm-threads,ours-wgpu,tfjs-webgpu"
).split(",");
const quick = opt.quick === true;
const webgpuLab = opt["webgpu-lab"] === true;

/**
 * The CPU peers' untimed training time (BenchConfig.warmup_seconds): Chromium compiles a wasm
 * module's hot functions again with its optimising compiler, on up to three of its own threads,
 * during a run's first seconds; sampled per thread (/proc) during a tutorial run of the
 * multi-threaded build, that compiler took 45% of a core at 2-3.5 s, 19% at 6-7.5 s and 5% at
 * 10-11.5 s. On 2 cores it competes with 2 training threads (tutorial: 1.4x one thread in the
 * first seconds, 1.75x from 12 s on, 2026-11-30), so the figures are the steady state after
 * 15 s, for every CPU peer alike.
 */
const CPU_WARMUP_SECONDS = 15;

/** Steps and runs per peer kind: WebGPU here is a software adapter, so fewer of them. */
export function configFor(peer, preset) {
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

const routes = {
  "/": join(here, "page"),
  "/pkg/": opt.pkg,
  "/node_modules/": join(here, "node_modules"),
  "/data/": opt.data,
};
const { server, url } = await serve(routes);
// The same page cross-origin isolated (COOP/COEP), where TF.js's wasm backend may use threads
// (SharedArrayBuffer); this project's wasm is single-threaded either way (README, Benchmarks).
const isolated = await serve(routes, {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--enable-unsafe-webgpu",
    "--disable-background-networking",
    "--disable-component-update",
  ],
});
const emit = (o) => console.log(JSON.stringify(o));
try {
  emit({ kind: "browser", version: browser.version() });
  for (const preset of presets) {
    for (const peer of peers) {
      const config = configFor(peer, preset);
      if (preset === "lab" && /wgpu|webgpu/.test(peer) && !webgpuLab) {
        emit({
          kind: "throughput",
          where: "browser",
          peer,
          preset,
          skipped: "--webgpu-lab",
        });
        continue;
      }
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on("pageerror", (e) => console.error(`[${peer}] ${e}`));
      const t = Date.now();
      const row = { kind: "throughput", where: "browser", peer, preset, config };
      try {
        const threads = /-threads1?$/.test(peer);
        await page.goto(`${threads ? isolated.url : url}/index.html`);
        await page.waitForFunction(() => window.benchReady === true);
        const result = await page.evaluate(([p, c]) => window.runPeer(p, c), [peer, config]);
        emit({ ...row, ...result });
      } catch (e) {
        emit({ ...row, error: String(e).split("\n")[0] });
      }
      console.error(`${peer} ${preset}: ${((Date.now() - t) / 1000).toFixed(0)} s`);
      await context.close();
    }
  }
  // Page load to the first training step, in a fresh context (nothing cached), tutorial on flex.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}/first.html?preset=tutorial`);
  await page.waitForFunction(() => window.firstStep, null, {
    timeout: 300_000,
  });
  emit({
    kind: "first_step",
    preset: "tutorial",
    ...(await page.evaluate(() => window.firstStep)),
  });
  await context.close();
} finally {
  await browser.close();
  server.close();
  isolated.server.close();
}
