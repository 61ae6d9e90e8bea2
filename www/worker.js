// The lab's Web Worker: it owns the wasm core (one `Lab`, the core's pipeline) and only
// translates messages to core calls and back. Every request is `{ id, op, ...args }`; the answer is `{ id, ok, value }` or
// `{ id, ok: false, error }`; progress is `{ id, progress }`. `cancel` stops a training run.
// The worker's name picks the core's build (`LabClient`): "webgpu" loads the one with burn's
// WebGPU backend, "threads" the CPU build on all the browser's cores (its thread pool started
// before anything runs), anything else the single-threaded CPU build.
// Loaded without a top-level await: the message handler below must be in place at once.
const builds = {
  webgpu: () => import("../pkg/webgpu/overunlearn.js"),
  threads: () => import("../pkg/threads/overunlearn.js"),
  cpu: () => import("../pkg/overunlearn.js"),
};
/** The core's module, set once `ready` settles (every op waits for it). */
let core = null;
/** The threads flex's kernels run on. */
let threads = 1;
/** Settles with the wasm instance's exports once the core's build is loaded. */
const ready = (builds[self.name] ?? builds.cpu)().then(async (module) => {
  const exports = await module.default();
  if (module.initThreadPool) {
    threads = navigator.hardwareConcurrency || 1;
    await module.initThreadPool(threads);
  }
  core = module;
  return exports;
});

let lab = null;
/** The Intuition step's 2-D lab (independent of `lab`). */
let toy = null;
/** Settles when the toy's training is over. The backend's random generator is process-wide
 * (weights, dropout), so the lab's own steps wait for it: a run's numbers never depend on
 * whether the Intuition step was training beside it. */
let toyTrained = Promise.resolve();
/** The lab's steps that may draw from the backend's random generator. */
const RANDOM_STEPS = new Set(["train", "craft", "unlearn", "importModel", "importShipped"]);
let cancelRequested = false;
// Files the user handed over are authoritative: no server fallback once there are any.
let dropped = false;

/** Test hooks, reached through the protocol like every op: the wasm memory's size, and a
 * fault that kills the worker as a crash of the core would (an uncaught error). */
const testOps = {
  memory: async () => (await ready).memory.buffer.byteLength,
  fault: () =>
    new Promise(() => {
      setTimeout(() => {
        throw new Error("fault injected by a test");
      });
    }),
};

/** The bytes at `url`; when the server does not answer with them, null if `optional`, else an
 * error naming the URL. */
async function fetchBytes(url, { optional = false } = {}) {
  const response = await fetch(url);
  if (response.ok) return new Uint8Array(await response.arrayBuffer());
  if (optional) return null;
  throw new Error(`${url}: the server answered ${response.status}`);
}

/** Fetches the files a config reads from the lab server's data folder; returns their count. */
async function fetchData(configJson, base) {
  const files = JSON.parse(core.dataFiles(configJson));
  const get = (path) => fetchBytes(new URL(path, base), { optional: true });
  let count = 0;
  /** Hands `path` to the core if the server has it; says whether it did. */
  const add = async (path) => {
    const bytes = await get(path);
    if (bytes) {
      lab.addFile(path, bytes);
      count += 1;
    }
    return bytes !== null;
  };
  const missing = [];
  for (const path of files.required) if (!(await add(path))) missing.push(path);
  if (missing.length === 0) {
    for (const path of files.optional) await add(path);
    return count;
  }
  const archive = await get(files.archive);
  if (archive) return lab.addArchive(files.archive, archive);
  throw new Error(
    `the lab's server has no ${missing.join(", ")} (nor ${files.archive}): ` +
      "drop the official archive or files on the page",
  );
}

const ops = {
  /** Draws the 2-D points with `seed`, trains their network, pushes class A; returns what that
   * took (`Ready`). */
  async intuition({ seed }) {
    // Taken before the first await, so a step posted right after this waits for it.
    const previous = toyTrained;
    let trained;
    toyTrained = new Promise((resolve) => (trained = resolve));
    try {
      await previous;
      toy?.free();
      toy = null;
      toy = await core.Intuition.create(seed);
      return JSON.parse(toy.ready());
    } finally {
      trained();
    }
  },
  async scene({ percent, tau }) {
    if (!toy) throw new Error("the Intuition step's network is not trained yet");
    return JSON.parse(await toy.scene(percent, tau));
  },
  async create({ backend }) {
    lab?.free();
    lab = null;
    lab = await core.Lab.create(backend);
    dropped = false;
    return { backend: lab.backend(), version: core.version(), threads };
  },
  scenario: async ({ name }) => core.scenario(name),
  checkConfig: async ({ config }) => core.checkConfig(config),
  summary: async ({ config }) => core.summary(config),
  configure: async ({ config }) => JSON.parse(lab.configure(config)),
  stage: async () => lab.stage(),
  async addFiles({ files }) {
    dropped = true;
    let count = 0;
    for (const { name, bytes } of files) {
      if (/\.(tar\.gz|tgz)$/.test(name)) count += lab.addArchive(name, new Uint8Array(bytes));
      else {
        lab.addFile(name, new Uint8Array(bytes));
        count += 1;
      }
    }
    return count;
  },
  async load({ config, base }, progress) {
    try {
      return JSON.parse(lab.load());
    } catch (first) {
      if (!base || dropped) throw first;
      progress({ stage: "downloading the dataset files", done: 0, total: 1 });
      await fetchData(config, base);
      progress({ stage: "downloading the dataset files", done: 1, total: 1 });
      return JSON.parse(lab.load());
    }
  },
  async train(_args, progress) {
    cancelRequested = false;
    const report = await lab.train((json) => {
      progress(JSON.parse(json));
      return cancelRequested;
    });
    return JSON.parse(report);
  },
  exportModel: async () => lab.exportModel(),
  importModel: async ({ name, bytes }) => JSON.parse(lab.importModel(name, new Uint8Array(bytes))),
  /** Uses a shipped model: fetches `url` and hands it to the core with its report. */
  async importShipped({ url, report }, progress) {
    progress({ stage: "downloading the shipped model", done: 0, total: 1 });
    const bytes = await fetchBytes(url);
    return JSON.parse(lab.importShipped(bytes, report));
  },
  /** Crafts, reusing the shipped crafted requests (`crafted`: URL by file stem) it needs. */
  async craft({ gallery, crafted = {} }, progress) {
    const parts = lab.craftedParts(Object.keys(crafted));
    if (parts.length)
      progress({ stage: "downloading the shipped crafted requests", done: 0, total: parts.length });
    const bytes = await Promise.all(parts.map((stem) => fetchBytes(crafted[stem])));
    return JSON.parse(await lab.craft(gallery, bytes, (json) => progress(JSON.parse(json))));
  },
  testImage: async ({ index }) => JSON.parse(lab.testImage(index)),
  async unlearn(_args, progress) {
    return JSON.parse(await lab.unlearn((json) => progress(JSON.parse(json))));
  },
};

self.onmessage = async ({ data }) => {
  if (data.op === "cancel") {
    cancelRequested = true;
    return;
  }
  const { id, op, ...args } = data;
  const progress = (value) => self.postMessage({ id, progress: value });
  try {
    await ready;
    const standalone = ["create", "scenario", "checkConfig", "summary", "intuition", "scene"];
    if (![...standalone, "memory", "fault"].includes(op) && !lab) {
      throw new Error("the lab's backend is not started");
    }
    if (RANDOM_STEPS.has(op)) await toyTrained;
    const value = await (ops[op] ?? testOps[op])(args, progress);
    const transfer = value instanceof Uint8Array ? [value.buffer] : [];
    self.postMessage({ id, ok: true, value }, transfer);
  } catch (error) {
    self.postMessage({ id, ok: false, error: String(error?.message ?? error) });
  }
};
