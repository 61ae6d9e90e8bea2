// The browser side of scripts/bench.sh: serves the bench page on 127.0.0.1, runs each peer in a
// fresh page of one headless Chromium and prints one JSON line per figure on stdout.
//   node run.mjs --pkg DIR --data DIR [--presets tutorial,lab] [--peers ours-flex,...] [--quick]
import { chromium } from "playwright-core";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const opt = Object.fromEntries(
  process.argv
    .slice(2)
    .map((a, i, all) =>
      a.startsWith("--") ? [a.slice(2), all[i + 1] ?? true] : [],
    ),
);
const presets = (opt.presets ?? "tutorial,lab").split(",");
const peers = (opt.peers ?? "ours-flex,tfjs-wasm,ours-wgpu,tfjs-webgpu").split(
  ",",
);
const quick = opt.quick === true || opt.quick === "true";

/** Steps and runs per peer kind: WebGPU here is a software adapter, so fewer of them. */
export function configFor(peer, preset) {
  const gpu = /wgpu|webgpu/.test(peer);
  const base = { preset, batch_size: 64, inference_batch: 256, seed: 0 };
  if (quick)
    return { ...base, warmup: 1, steps: 2, runs: 2, inference_batches: 1 };
  if (gpu)
    return preset === "lab"
      ? { ...base, warmup: 1, steps: 1, runs: 3, inference_batches: 1 }
      : { ...base, warmup: 2, steps: 2, runs: 3, inference_batches: 1 };
  return preset === "lab"
    ? { ...base, warmup: 2, steps: 4, runs: 3, inference_batches: 2 }
    : { ...base, warmup: 3, steps: 10, runs: 5, inference_batches: 4 };
}

const { server, url } = await serve({
  "/": join(here, "page"),
  "/pkg/": opt.pkg,
  "/node_modules/": join(here, "node_modules"),
  "/data/": opt.data,
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
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on("pageerror", (e) => console.error(`[${peer}] ${e}`));
      const t = Date.now();
      try {
        await page.goto(`${url}/index.html`);
        await page.waitForFunction(() => window.benchReady === true);
        const result = await page.evaluate(
          ([p, c]) => window.runPeer(p, c),
          [peer, config],
        );
        emit({
          kind: "throughput",
          where: "browser",
          peer,
          preset,
          config,
          ...result,
        });
      } catch (e) {
        emit({
          kind: "throughput",
          where: "browser",
          peer,
          preset,
          config,
          error: String(e).split("\n")[0],
        });
      }
      console.error(
        `${peer} ${preset}: ${((Date.now() - t) / 1000).toFixed(0)} s`,
      );
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
}
