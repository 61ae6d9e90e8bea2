// Where a peer of the bench page spends its time in Chromium: a CPU profile of every worker (the
// bench's own and, for the multi-threaded build, each of rayon's), self time per function.
//   node profile.mjs --pkg DIR --data DIR [--peer ours-flex-threads] [--preset tutorial] [--steps 30]
//                    [--warmup-seconds 15]
// The run first trains untimed for --warmup-seconds (the bench's CPU warm-up: Chromium's
// optimising compiler works during a page's first seconds), and the summary counts only the
// samples taken after it; the .cpuprofile files keep them all.
// DIR must hold wasm that kept its name section, or the functions are only numbers:
//   W=$CARGO_TARGET_DIR/wasm32-unknown-unknown; mkdir -p /tmp/pkgprof && cp -r pkg/* /tmp/pkgprof/
//   wasm-bindgen --target web --out-dir /tmp/pkgprof $W/wasm-cpu/overunlearn.wasm
//   wasm-bindgen --target web --out-dir /tmp/pkgprof/threads $W/wasm-threads/overunlearn.wasm
// A blocked thread counts as busy in its waiting function (`Condvar::wait...`), and threads the
// machine cannot run at once share its cores: read self times as wall time, not CPU time. The
// profiles (.cpuprofile, DevTools' format) are written to --out (default /tmp).
import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchRoutes, ISOLATION_HEADERS, serve } from "./server.mjs";
import { configFor } from "./configs.mjs";

const { ws: WebSocket } = createRequire(import.meta.url)("playwright-core/lib/utilsBundle");
const opt = {};
for (let i = 2; i < process.argv.length; i += 2)
  opt[process.argv[i].slice(2)] = process.argv[i + 1];
const peer = opt.peer ?? "ours-flex-threads";
// The bench's config for the peer (its warm-up included), as one long timed run.
const config = {
  ...configFor(peer, opt.preset ?? "tutorial"),
  ...(opt["warmup-seconds"] === undefined ? {} : { warmup_seconds: Number(opt["warmup-seconds"]) }),
  warmup: 1,
  steps: Number(opt.steps ?? 30),
  runs: 1,
  inference_batches: 1,
};
const { server, url } = await serve(benchRoutes(opt.pkg, opt.data), ISOLATION_HEADERS);
const port = 9333;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", `--remote-debugging-port=${port}`],
});

// The DevTools protocol, flattened: one socket, a session per page and worker.
const { webSocketDebuggerUrl } = await (
  await fetch(`http://127.0.0.1:${port}/json/version`)
).json();
const socket = new WebSocket(webSocketDebuggerUrl);
await new Promise((resolve) => socket.on("open", resolve));
let lastId = 0;
const pending = new Map();
const send = (method, params = {}, sessionId) =>
  new Promise((resolve, reject) => {
    pending.set(++lastId, { resolve, reject });
    socket.send(JSON.stringify({ id: lastId, method, params, sessionId }));
  });
const attach = (sessionId, waitForDebuggerOnStart) =>
  send(
    "Target.setAutoAttach",
    { autoAttach: true, waitForDebuggerOnStart, flatten: true },
    sessionId,
  );
const workers = [];
socket.on("message", async (raw) => {
  const message = JSON.parse(raw);
  if (message.id) {
    const { resolve, reject } = pending.get(message.id);
    pending.delete(message.id);
    return message.error ? reject(new Error(message.error.message)) : resolve(message.result);
  }
  if (message.method !== "Target.attachedToTarget") return;
  const { sessionId, targetInfo } = message.params;
  if (targetInfo.type === "page") await attach(sessionId, false);
  if (targetInfo.type !== "worker") return;
  // Each worker is held at its start until its profiler runs; rayon's workers are its children.
  workers.push({ sessionId, url: targetInfo.url });
  await attach(sessionId, true).catch(() => {});
  await send("Profiler.enable", {}, sessionId);
  await send("Profiler.setSamplingInterval", { interval: 200 }, sessionId);
  await send("Profiler.start", {}, sessionId);
  await send("Runtime.runIfWaitingForDebugger", {}, sessionId);
});
await attach(undefined, false);

const page = await (await browser.newContext()).newPage();
await page.goto(`${url}/index.html`);
await page.waitForFunction(() => window.benchReady === true);
// The bench page ends its worker after the run, which would take the profile with it.
await page.evaluate(() => (window.keepWorkers = true));
const figures = await page.evaluate(([p, c]) => window.runPeer(p, c), [peer, config]);
console.log(JSON.stringify({ peer, ...config, ...figures }));
for (const [k, worker] of workers.entries()) {
  const { profile } = await send("Profiler.stop", {}, worker.sessionId);
  const file = join(opt.out ?? "/tmp", `profile-${k}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  const nodes = new Map(
    profile.nodes.map((n) => [n.id, n.callFrame.functionName || "(anonymous)"]),
  );
  // Samples from the warm-up's end on (times in microseconds since the profile's start).
  const from = profile.startTime + (config.warmup_seconds ?? 0) * 1e6;
  const self = new Map();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from) return;
    const name = nodes.get(id).replace(/\[[0-9a-f]+\]/g, "");
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  });
  console.log(`\n${worker.url.split("/").pop()} (${file}):`);
  [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 30)
    .forEach(([name, ms]) => console.log(`${ms.toFixed(1).padStart(9)} ms  ${name.slice(0, 140)}`));
}
await browser.close();
server.close();
