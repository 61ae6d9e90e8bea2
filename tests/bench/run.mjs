// The browser side of scripts/bench.sh: serves the bench page on 127.0.0.1, runs each peer in a
// fresh page of one headless Chromium and prints one JSON line per figure on stdout.
//   node run.mjs --pkg DIR --data DIR [--presets tutorial,lab] [--peers ours-flex,...] [--quick]
//                [--webgpu-lab]
// WebGPU here is Chromium's software adapter (SwiftShader): one `lab` step takes about a minute
// for this project and three for TF.js, so the `lab` preset runs on WebGPU only with
// --webgpu-lab (one warm-up step, one timed step).
import { chromium } from "playwright-core";
import { benchRoutes, ISOLATION_HEADERS, serve } from "./server.mjs";
import { configFor } from "./configs.mjs";

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

const routes = benchRoutes(opt.pkg, opt.data);
const { server, url } = await serve(routes);
// The same page cross-origin isolated (COOP/COEP): the multi-threaded peers (this project's
// threads build, TF.js's wasm backend with threads) need SharedArrayBuffer.
const isolated = await serve(routes, ISOLATION_HEADERS);
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
      const config = configFor(peer, preset, quick);
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
