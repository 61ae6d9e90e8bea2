// The lab page: it keeps the experiment config (mirrored in the URL), drives the worker step
// by step and shows what the core reports. No experiment logic lives here.
import { preferredBackend, probeWebGpu } from "./backend.js";
import { TrainingChart } from "./charts.js";
import { collect, fill, setClasses, showMethodParams } from "./form.js";
import { renderGallery } from "./gallery.js";
import { LabClient } from "./lab-client.js";
import { download, renderResults, toCsv } from "./results.js";
import { configFromHash, linkFor } from "./share.js";
import * as storage from "./storage.js";

const $ = (id) => document.getElementById(id);
const state = {
  client: null,
  probe: null,
  config: null, // the checked ExperimentConfig object
  loaded: null, // JSON of the run config whose data the worker holds
  classes: [],
  trained: false,
  crafted: null, // the config JSON the worker's requests were crafted with
  report: null,
  busy: false,
};
const trainingChart = new TrainingChart($("train-chart"));
/** Milliseconds since navigation start at the lab's milestones (read by the build's probe). */
window.labTimings = {};
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
  const gpu = state.config?.run.backend === "wgpu";
  notify(
    gpu
      ? `The GPU failed (${message}). The lab restarted on flex; trained models kept in this ` +
          "browser are still there. Switch back to WebGPU to try again."
      : `The lab's core failed (${message}) and was restarted.`,
  );
  if (gpu) state.config.run.backend = "flex";
  await startBackend();
}

// ---- backend ----------------------------------------------------------------------------

function describeBackend(backend) {
  const p = state.probe;
  if (backend === "wgpu") return `WebGPU · ${p.adapter}${p.fallback ? " (software adapter)" : ""}`;
  return "flex (CPU, WebAssembly)";
}

/** (Re)starts the worker on the config's backend. */
async function startBackend() {
  state.client?.worker.terminate();
  state.client = new LabClient();
  state.loaded = null;
  state.trained = false;
  state.crafted = null;
  let backend = state.config.run.backend;
  if (backend === "wgpu" && !state.probe.webgpu) {
    notify(
      `This browser has no WebGPU (${state.probe.reason}): the lab runs on flex instead. ` +
        "Numbers from a WebGPU run may differ slightly.",
      "info",
    );
    backend = state.config.run.backend = "flex";
  }
  const { version } = await state.client.call("create", { backend });
  $("backend-select").value = backend;
  $("backend-status").textContent = describeBackend(backend);
  $("backend-status").dataset.backend = backend;
  $("version").textContent = `core ${version}`;
  showConfig();
}

// ---- config -----------------------------------------------------------------------------

/** The core's check of a config object or JSON text; returns the filled-in object. */
async function check(config) {
  const text = typeof config === "string" ? config : JSON.stringify(config);
  return JSON.parse(await state.client.call("checkConfig", { config: text }));
}

/** Reads the page's controls into a checked config and mirrors it in the URL. */
async function readConfig() {
  state.config = await check(collect(state.config));
  history.replaceState(null, "", linkFor(JSON.stringify(state.config)));
  localStorage.setItem("overunlearn:last-config", JSON.stringify(state.config));
  return state.config;
}

function showConfig() {
  fill(state.config);
  if (state.classes.length) setClasses(state.classes, state.config);
}

// ---- steps ------------------------------------------------------------------------------

function showStep(step) {
  for (const button of document.querySelectorAll("#steps [data-step]")) {
    button.classList.toggle("active", button.dataset.step === step);
  }
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.dataset.step !== step;
  }
}

/** Makes sure the worker holds the data of the config's run. */
async function ensureData() {
  const run = JSON.stringify(state.config.run);
  if (state.loaded === run) return;
  state.trained = false;
  state.crafted = null;
  status("data-status", "loading…");
  const summary = await state.client.call(
    "load",
    {
      config: JSON.stringify(state.config),
      base: new URL("datasets/", location.href).href,
    },
    (p) => status("data-status", `${p.stage}…`),
  );
  state.loaded = run;
  mark("dataLoaded");
  state.classes = summary.classes;
  setClasses(summary.classes, state.config);
  status(
    "data-status",
    `Loaded ${summary.train} training, ${summary.validation} validation and ${summary.test} ` +
      `test images of ${summary.classes.length} classes.`,
  );
}

async function loadData() {
  await readConfig();
  state.loaded = null;
  await ensureData();
}

function formatSeconds(s) {
  return s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`;
}

async function train() {
  await readConfig();
  await ensureData();
  state.trained = false;
  state.crafted = null;
  trainingChart.clear();
  $("cancel").disabled = false;
  const started = performance.now();
  const report = await state.client.call("train", {}, (p) => {
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
  state.trained = true;
  $("train-progress").value = 1;
  showTrained(report, false);
  const bytes = await state.client.call("exportModel");
  await storage.put(storage.modelKey(state.config.run), { bytes, report });
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
  const stored = await storage.get(storage.modelKey(state.config.run));
  if (!stored) return false;
  await ensureData();
  await state.client.call("importModel", {
    name: "stored model",
    bytes: stored.bytes,
  });
  state.trained = true;
  showTrained(stored.report, true);
  return true;
}

async function ensureModel() {
  await ensureData();
  if (state.trained || (await restoreModel())) return;
  await train();
}

async function craft() {
  await readConfig();
  await ensureModel();
  status("craft-status", "crafting…");
  const config = JSON.stringify(state.config);
  const crafted = await state.client.call("craft", { config, gallery: 6 }, (p) =>
    status("craft-status", `${p.stage}: ${p.done}/${p.total}`),
  );
  state.crafted = config;
  status(
    "craft-status",
    `${crafted.requests.length} requests ready (${formatSeconds(crafted.seconds)}).`,
  );
  const shape = state.config.run.dataset === "stl10" ? [3, 96, 96] : [3, 32, 32];
  renderGallery($("gallery"), crafted, shape);
}

async function unlearn() {
  await readConfig();
  const sameRequests = (a, b) =>
    JSON.stringify({ ...a, method: null }) === JSON.stringify({ ...b, method: null });
  if (!state.crafted || !sameRequests(JSON.parse(state.crafted), state.config)) await craft();
  status("unlearn-status", "unlearning…");
  const report = await state.client.call("unlearn", { config: JSON.stringify(state.config) }, (p) =>
    status("unlearn-status", `${p.stage}: ${p.done}/${p.total}`),
  );
  status("unlearn-status", `Done in ${formatSeconds(report.seconds)}.`);
  state.report = report;
  await storage.put("results", report);
  renderResults(report);
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
  const count = await state.client.call(
    "addFiles",
    { files },
    null,
    files.map((f) => f.bytes),
  );
  state.loaded = null;
  status("data-status", `${count} dataset files added; press “Load data”.`);
}

async function importModel(file) {
  await readConfig();
  await ensureData();
  const bytes = await file.arrayBuffer();
  await state.client.call("importModel", { name: file.name, bytes }, null, [bytes]);
  state.trained = true;
  state.crafted = null;
  status("train-status", `Imported ${file.name}.`);
}

async function exportModel() {
  const bytes = await state.client.call("exportModel");
  download(
    `overunlearn-${state.config.run.preset}-seed${state.config.run.seed}.bin`,
    new Blob([bytes]),
  );
}

function exportCharts() {
  for (const id of ["class-chart", "shift-chart"]) {
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
      const backend = state.config.run.backend;
      state.config = JSON.parse(await state.client.call("scenario", { name: $("scenario").value }));
      state.config.run.backend = backend;
      showConfig();
    });
  $("backend-select").onchange = () =>
    guard(async () => {
      await readConfig();
      state.config.run.backend = $("backend-select").value;
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
  state.client = new LabClient();
  const defaults = JSON.parse(await state.client.call("scenario", { name: "tutorial" }));
  defaults.run.backend = preferredBackend(state.probe);
  state.config = defaults;
  const messages = [];
  let fromLink = null;
  let garbled = false;
  try {
    fromLink = configFromHash(location.hash);
    if (fromLink) state.config = await check(fromLink);
  } catch (error) {
    state.config = defaults;
    garbled = true;
    messages.push(`This link's config could not be used: ${error.message}. The defaults are kept.`);
  }
  if (!fromLink) {
    const last = localStorage.getItem("overunlearn:last-config");
    if (last) state.config = await check(last).catch(() => defaults);
  }
  if (state.probe.webgpu && state.probe.fallback && state.config.run.backend === "flex") {
    messages.push(
      `Only a software WebGPU adapter is available (${state.probe.adapter}): the lab uses flex, ` +
        "which is faster here. Switch to WebGPU to try it anyway.",
    );
  } else if (!state.probe.webgpu) {
    messages.push(`WebGPU is not available (${state.probe.reason}): the lab runs on flex (CPU).`);
  }
  await startBackend();
  if (messages.length) notify(messages.join(" "), garbled ? "error" : "info");
  const report = await storage.get("results");
  if (report && JSON.stringify(report.config) === JSON.stringify(state.config)) {
    state.report = report;
    renderResults(report);
  }
  document.body.dataset.ready = "true";
  mark("ready");
  guard(restoreModel, { keepNotice: true });
}

start().catch((error) => notify(`The lab could not start: ${error.message ?? error}`));
