// The lab page: it drives the core's pipeline in the worker step by step and shows the stage
// and what the core reports. What is kept or dropped when the config changes is the core's
// decision; no experiment logic lives here.
import { preferredBackend, probeWebGpu } from "./backend.js";
import { TrainingChart, tradeOffChart } from "./charts.js";
import { ConfigStore } from "./config-store.js";
import { collect, fill, setClasses, showMethodParams } from "./form.js";
import { imageCanvas, renderGallery } from "./gallery.js";
import { IntuitionView } from "./intuition.js";
import * as shipped from "./shipped.js";
import { LabClient } from "./lab-client.js";
import { download, renderResults, toCsv } from "./results.js";
import * as storage from "./storage.js";

const $ = (id) => document.getElementById(id);
/** The pipeline's stages in order (the core's `Stage`). */
const STAGES = ["empty", "configured", "loaded", "trained", "crafted", "unlearned"];
const state = {
  client: null,
  probe: null,
  store: new ConfigStore(async (text) =>
    JSON.parse(await state.client.call("checkConfig", { config: text })),
  ),
  stage: "empty", // as the core last reported it
  classes: [],
  report: null,
  busy: false,
};
/** The current experiment config (the store owns it). */
const current = () => state.store.config;
/** Whether the pipeline has reached `stage`. */
const reached = (stage) => STAGES.indexOf(state.stage) >= STAGES.indexOf(stage);
const trainingChart = new TrainingChart($("train-chart"));
/** Milliseconds since navigation start at the lab's milestones (read by the build's probe). */
window.labTimings = {};
/** Test hooks (the e2e suite's soak and crash tests): the worker's wasm memory in bytes, and a
 * fault injected into the worker, handled as a crash of the core is. */
window.labTest = {
  memory: () => state.client.call("memory"),
  /** SHA-256 (hex) of the trained model's file: equal files, equal weights bit for bit. */
  async modelSha256() {
    const digest = await crypto.subtle.digest("SHA-256", await state.client.call("exportModel"));
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  },
  fault: () => guard(() => state.client.call("fault")),
};
const mark = (name) => (window.labTimings[name] ??= performance.now());

// ---- messages ---------------------------------------------------------------------------

function notify(message, kind = "error") {
  const notice = $("notice");
  notice.textContent = message;
  notice.className = kind;
  notice.hidden = !message;
}

function status(id, text) {
  $(id).textContent = text;
}

/** Runs a user action: one at a time, errors shown in the page, a failed GPU recovered. */
async function guard(action, { keepNotice = false } = {}) {
  if (state.busy) return;
  state.busy = true;
  document.body.classList.add("busy");
  try {
    if (!keepNotice && $("notice").className === "error") notify("");
    await action();
  } catch (error) {
    await recover(error);
  } finally {
    state.busy = false;
    document.body.classList.remove("busy");
    $("cancel").disabled = true;
  }
}

/** Shows `error`; when the core or the GPU died, restarts the worker (on flex after a GPU loss). */
async function recover(error) {
  const message = String(error?.message ?? error);
  const fatal = /unreachable|RuntimeError|worker failed|device (was )?lost|DeviceLost/i.test(
    message,
  );
  if (!fatal) {
    notify(message);
    return;
  }
  const gpu = current()?.run.backend === "wgpu";
  notify(
    gpu
      ? `The GPU failed (${message}). The lab restarted on flex; trained models kept in this ` +
          "browser are still there. Switch back to WebGPU to try again."
      : `The lab's core failed (${message}) and was restarted; trained models and results ` +
          "kept in this browser are still there.",
  );
  if (gpu) current().run.backend = "flex";
  await startBackend();
  await restoreModel();
}

// ---- backend ----------------------------------------------------------------------------

function describeBackend(backend, threads) {
  const p = state.probe;
  if (backend === "wgpu") return `WebGPU · ${p.adapter}${p.fallback ? " (software adapter)" : ""}`;
  if (threads > 1) return `flex (CPU, WebAssembly, ${threads} threads)`;
  return crossOriginIsolated
    ? "flex (CPU, WebAssembly, 1 thread)"
    : "flex (CPU, WebAssembly, 1 thread: the page is not cross-origin isolated)";
}

/** Trains the Intuition step's network in the current worker, in the background, the first
 *  time the step is on screen for that worker (a page opened on another step, or a backend
 *  switch away from it, never waits for it). */
function startIntuition() {
  if ($("step-intuition").hidden || state.intuition?.client === state.client) return;
  state.intuition ??= new IntuitionView($("step-intuition"));
  state.intuition.start(state.client).catch((error) => {
    $("toy-status").textContent = `The Intuition step could not start: ${error.message ?? error}`;
  });
}

/** (Re)starts the worker on the config's backend. */
async function startBackend() {
  state.client?.worker.terminate();
  showStage("empty");
  let backend = current().run.backend;
  if (backend === "wgpu" && !state.probe.webgpu) {
    notify(
      `This browser has no WebGPU (${state.probe.reason}): the lab runs on flex instead. ` +
        "Numbers from a WebGPU run may differ slightly.",
      "info",
    );
    backend = current().run.backend = "flex";
  }
  state.client = new LabClient(backend);
  const { version, threads } = await state.client.call("create", { backend });
  startIntuition();
  $("backend-select").value = backend;
  $("backend-status").textContent = describeBackend(backend, threads);
  $("backend-status").dataset.backend = backend;
  $("version").textContent = `core ${version}`;
  showConfig();
  // The new core's pipeline starts from the page's config (the URL is left as it is).
  await configure(current());
}

// ---- config -----------------------------------------------------------------------------

/** Shows how far the pipeline has come: each step reached is marked done. */
function showStage(stage) {
  state.stage = stage;
  const done = { data: "loaded", train: "trained", request: "crafted", unlearn: "unlearned" };
  for (const button of document.querySelectorAll("#steps [data-step]")) {
    const step = button.dataset.step;
    button.classList.toggle("done", step !== "intuition" && reached(done[step] ?? "unlearned"));
  }
}

/** Calls `op` in the core, then shows the stage the pipeline reports after it. */
async function step(op, args = {}, onProgress = null, transfer = []) {
  try {
    return await state.client.call(op, args, onProgress, transfer);
  } finally {
    const stage = await state.client.call("stage").catch(() => null);
    if (stage) showStage(JSON.parse(stage));
  }
}

/** Hands the page's controls to the core's pipeline as the current config; the core checks it
 * and keeps what still applies. */
async function readConfig() {
  const config = await configure(collect(current()));
  state.store.save(config);
  return config;
}

/** Makes `config` the core pipeline's current config; returns it as the core filled it in. */
async function configure(config) {
  const text = JSON.stringify(config);
  const { stage, config: checked } = await state.client.call("configure", { config: text });
  showStage(stage);
  return checked;
}

function showConfig() {
  fill(current());
  if (state.classes.length) setClasses(state.classes, current());
  const model = current().model;
  $("use-shipped").hidden = !model;
  $("use-shipped").textContent = `Start from the trained model ${model ?? ""}`;
}

/**
 * Lists the experiments the lab ships beside the built-in scenarios, as the core sums them up;
 * those whose trained model this build does not ship (still training) are left out.
 */
async function listExperiments() {
  const select = $("scenario");
  for (const [name, config] of Object.entries(shipped.experiments)) {
    if (config.model && !shipped.models[config.model]) continue;
    const option = document.createElement("option");
    option.value = `file:${name}`;
    option.textContent = `${name}: ${await state.client.call("summary", { config: JSON.stringify(config) })}`;
    select.append(option);
  }
}

/** Draws the adaptive attacker's trade-off measured by the first shipped `defend` report. */
function showTradeOff() {
  const [name, report] = Object.entries(shipped.defendReports)[0] ?? [];
  if (!report?.adaptive?.length) return;
  $("trade-off-caption").textContent =
    `Measured by overunlearn defend --config experiments/${name}.json on the shipped model ` +
    `${report.config.model} (${report.settings.draws} seeded Pushing-I requests of ` +
    `${report.config.percentages[0]}% of ${report.config.class_a} at each floor): a pushed ` +
    "sample that keeps a higher margin escapes the boundary check more often but removes less " +
    "of the class.";
  tradeOffChart($("trade-off-chart"), report);
  $("trade-off").hidden = false;
}

// ---- steps ------------------------------------------------------------------------------

function showStep(step) {
  for (const button of document.querySelectorAll("#steps [data-step]")) {
    button.classList.toggle("active", button.dataset.step === step);
  }
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.dataset.step !== step;
  }
  startIntuition();
}

/** Makes sure the core holds the data of the config's run. */
async function ensureData() {
  if (reached("loaded")) return;
  status("data-status", "loading…");
  const summary = await step(
    "load",
    {
      config: JSON.stringify(current()),
      base: new URL("datasets/", location.href).href,
    },
    (p) => status("data-status", `${p.stage}…`),
  );
  mark("dataLoaded");
  state.classes = summary.classes;
  setClasses(summary.classes, current());
  status(
    "data-status",
    `Loaded ${summary.train} training, ${summary.validation} validation and ${summary.test} ` +
      `test images of ${summary.classes.length} classes.`,
  );
}

async function loadData() {
  await readConfig();
  await ensureData();
}

function formatSeconds(s) {
  return s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`;
}

async function train() {
  await readConfig();
  await ensureData();
  trainingChart.clear();
  $("cancel").disabled = false;
  const started = performance.now();
  const report = await step("train", {}, (p) => {
    trainingChart.add(p);
    if (p.kind === "step") {
      mark("firstStep");
      const s = p;
      const done = (s.epoch - 1 + s.step / s.steps) / s.epochs;
      const elapsed = (performance.now() - started) / 1000;
      $("train-progress").value = done;
      status(
        "train-status",
        `epoch ${s.epoch}/${s.epochs}, step ${s.step}/${s.steps}: loss ${s.loss.toFixed(3)}, ` +
          `${Math.round(s.images_per_sec)} images/s, about ${formatSeconds((elapsed / done) * (1 - done))} left`,
      );
    }
  });
  $("train-progress").value = 1;
  showTrained(report, false);
  const bytes = await state.client.call("exportModel");
  await storage.put(storage.modelKey(current().run), { bytes, report });
}

function showTrained(report, restored) {
  $("export-model").disabled = false;
  status(
    "train-status",
    `${restored ? "Trained model restored from this browser" : report.cancelled ? "Training stopped" : "Trained"}: ` +
      `test accuracy ${(report.test.accuracy * 100).toFixed(1)}% (epoch ${report.best_epoch} kept, ` +
      `${report.backend}, seed ${report.config.seed}).`,
  );
}

/** Uses the model kept in this browser for the config's run, if there is one. */
async function restoreModel() {
  const stored = await storage.get(storage.modelKey(current().run));
  if (!stored) return false;
  await ensureData();
  await step("importModel", { name: "stored model", bytes: stored.bytes });
  showTrained(stored.report, true);
  return true;
}

/** Uses the trained model the config names (one the lab ships): no training in the browser. */
async function useShipped() {
  const name = current().model;
  const model = shipped.models[name];
  if (!model) {
    throw new Error(
      `model: this build of the lab does not ship "${name}" (it ships ` +
        `${Object.keys(shipped.models).join(", ") || "none"}); press Train to train it here`,
    );
  }
  await readConfig();
  await ensureData();
  status("train-status", `downloading the trained model ${name}…`);
  await step("importShipped", { url: model.url, report: JSON.stringify(model.report) });
  mark("modelReady");
  const test = model.report.test;
  status(
    "train-status",
    `Using the trained model ${name}: ${(test.accuracy * 100).toFixed(1)}% on ${test.count} ` +
      `test images when it was trained (${model.report.trained_on}).`,
  );
  $("export-model").disabled = false;
}

async function ensureModel() {
  await ensureData();
  if (reached("trained")) return;
  if (current().model) return useShipped();
  if (await restoreModel()) return;
  await train();
}

async function craft() {
  await readConfig();
  await ensureModel();
  status("craft-status", "crafting…");
  const crafted = await step("craft", { gallery: 6, crafted: shipped.crafted }, (p) =>
    status("craft-status", `${p.stage}: ${p.done}/${p.total}`),
  );
  status(
    "craft-status",
    `${crafted.requests.length} requests ready (${formatSeconds(crafted.seconds)}).`,
  );
  renderGallery($("gallery"), crafted);
}

async function unlearn() {
  await readConfig();
  if (!reached("crafted")) await craft();
  status("unlearn-status", "unlearning…");
  const report = await step("unlearn", {}, (p) =>
    status("unlearn-status", `${p.stage}: ${p.done}/${p.total}`),
  );
  status("unlearn-status", `Done in ${formatSeconds(report.seconds)}.`);
  mark("results");
  state.report = report;
  await storage.put("results", report);
  renderResults(report, showTestImage);
  showStep("results");
}

async function runAll() {
  await readConfig();
  showStep("train");
  await ensureModel();
  showStep("request");
  await craft();
  await unlearn();
}

// ---- files ------------------------------------------------------------------------------

async function addFiles(fileList) {
  const files = await Promise.all(
    [...fileList].map(async (f) => ({
      name: f.name,
      bytes: await f.arrayBuffer(),
    })),
  );
  const models = files.filter(
    (f) =>
      /\.bin$/.test(f.name) &&
      new Uint8Array(f.bytes, 0, 8).every((b, i) => b === "OVUNLRN\0".charCodeAt(i)),
  );
  if (models.length) throw new Error("that is a model file: import it in step 2");
  const count = await step(
    "addFiles",
    { files },
    null,
    files.map((f) => f.bytes),
  );
  status("data-status", `${count} dataset files added; press “Load data”.`);
}

async function importModel(file) {
  await readConfig();
  await ensureData();
  const bytes = await file.arrayBuffer();
  await step("importModel", { name: file.name, bytes }, null, [bytes]);
  status("train-status", `Imported ${file.name}.`);
}

async function exportModel() {
  const bytes = await state.client.call("exportModel");
  download(`overunlearn-${current().run.preset}-seed${current().run.seed}.bin`, new Blob([bytes]));
}

/** Shows test image `index` beside the feature view (from the worker's loaded data). */
async function showTestImage(index) {
  const figure = $("feature-image");
  try {
    const { shape, pixels } = await state.client.call("testImage", { index });
    figure.querySelector("div").replaceChildren(imageCanvas(pixels, shape, 3));
    figure.querySelector("figcaption").textContent = `test image ${index}`;
  } catch (error) {
    figure.querySelector("figcaption").textContent = `test image ${index} (${error.message})`;
  }
}

function exportCharts() {
  for (const id of ["class-chart", "shift-chart", "feature-chart"]) {
    if ($(id).closest("[hidden]")) continue;
    $(id).toBlob((blob) => download(`${id}.png`, blob));
  }
}

// ---- start ------------------------------------------------------------------------------

function wire() {
  for (const button of document.querySelectorAll("#steps [data-step]")) {
    button.onclick = () => showStep(button.dataset.step);
  }
  $("load").onclick = () => guard(loadData);
  $("train").onclick = () => guard(train);
  $("use-shipped").onclick = () => guard(useShipped);
  $("cancel").onclick = () => state.client.cancel();
  $("craft").onclick = () => guard(craft);
  $("unlearn").onclick = () => guard(unlearn);
  $("run-all").onclick = () => guard(runAll);
  $("method").onchange = showMethodParams;
  $("copy-link").onclick = () =>
    guard(async () => {
      await readConfig();
      await navigator.clipboard?.writeText(location.href).catch(() => {});
      notify(`Link copied: ${location.href}`, "info");
    });
  $("scenario").onchange = () =>
    guard(async () => {
      const choice = $("scenario").value;
      const config = choice.startsWith("file:")
        ? structuredClone(shipped.experiments[choice.slice("file:".length)])
        : JSON.parse(await state.client.call("scenario", { name: choice }));
      config.run.backend = current().run.backend;
      state.store.config = config;
      showConfig();
    });
  $("backend-select").onchange = () =>
    guard(async () => {
      await readConfig();
      current().run.backend = $("backend-select").value;
      await startBackend();
      await readConfig();
    });
  $("files").onchange = (e) => guard(() => addFiles(e.target.files));
  $("drop").ondragover = (e) => e.preventDefault();
  $("drop").ondrop = (e) => {
    e.preventDefault();
    guard(() => addFiles(e.dataTransfer.files));
  };
  $("import-model").onchange = (e) => guard(() => importModel(e.target.files[0]));
  $("export-model").onclick = () => guard(exportModel);
  $("export-json").onclick = () =>
    state.report &&
    download("overunlearn-report.json", JSON.stringify(state.report, null, 2), "application/json");
  $("export-csv").onclick = () =>
    state.report && download("overunlearn-report.csv", toCsv(state.report), "text/csv");
  $("export-png").onclick = exportCharts;
}

async function start() {
  wire();
  state.probe = await probeWebGpu();
  state.client = new LabClient(preferredBackend(state.probe));
  const defaults = JSON.parse(await state.client.call("scenario", { name: "tutorial" }));
  defaults.run.backend = preferredBackend(state.probe);
  const linkProblem = await state.store.start(defaults, location.hash);
  const messages = linkProblem ? [linkProblem] : [];
  if (state.probe.webgpu && state.probe.fallback && current().run.backend === "flex") {
    messages.push(
      `Only a software WebGPU adapter is available (${state.probe.adapter}): the lab uses flex, ` +
        "which is faster here. Switch to WebGPU to try it anyway.",
    );
  } else if (!state.probe.webgpu) {
    messages.push(`WebGPU is not available (${state.probe.reason}): the lab runs on flex (CPU).`);
  }
  await startBackend();
  await listExperiments();
  showTradeOff();
  if (messages.length) notify(messages.join(" "), linkProblem ? "error" : "info");
  const report = await storage.get("results");
  if (report && JSON.stringify(report.config) === JSON.stringify(current())) {
    state.report = report;
    renderResults(report, showTestImage);
  }
  document.body.dataset.ready = "true";
  mark("ready");
  guard(restoreModel, { keepNotice: true });
}

start().catch((error) => notify(`The lab could not start: ${error.message ?? error}`));
