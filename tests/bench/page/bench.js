// The bench page: this project's wasm core (flex, WebGPU) and TensorFlow.js (wasm, WebGPU) on
// the same architecture, batches and images, with the timing rules of crate/src/bench.rs.
// run.mjs calls window.runPeer(peer, config) once per fresh page.
/* global tf */

const DATA = "/data/cifar-10-batches-bin/";

async function fetchBytes(name) {
  const res = await fetch(DATA + name);
  if (!res.ok) throw new Error(`${DATA}${name}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// crate/src/model/mod.rs presets: [filters, convs, dropout] per block, dense, dense dropout.
const PRESETS = {
  tutorial: [
    [
      [16, 1, 0.0],
      [32, 1, 0.0],
      [64, 1, 0.1],
    ],
    64,
    0.1,
  ],
  lab: [
    [
      [32, 2, 0.1],
      [64, 2, 0.1],
      [128, 2, 0.2],
    ],
    256,
    0.2,
  ],
};

/**
 * This project: Lab.bench on `backend` ("flex" or "wgpu") in a worker, with the core's build the
 * lab loads for it: the WebGPU build for wgpu; for flex the single-threaded CPU build, or with
 * `threaded` the multi-threaded one on `count` threads (default: all the browser's threads).
 */
async function runOurs(backend, config, threaded, count) {
  const build = backend === "wgpu" ? "webgpu/" : threaded ? "threads/" : "";
  const threads = threaded ? (count ?? navigator.hardwareConcurrency) : 1;
  const worker = new Worker("/ours-worker.js", { type: "module" });
  const answer = await new Promise((resolve) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.postMessage({ build, backend, config, threads });
  });
  // profile.mjs keeps the worker, whose CPU profile it reads afterwards.
  if (!window.keepWorkers) worker.terminate();
  if (!answer.ok) throw new Error(answer.error);
  return figures(answer.report, threads);
}

/** The bench report's figures, with the threads they ran on. */
function figures(report, threads) {
  return {
    threads,
    train_runs: report.train_runs,
    train_images_per_sec: report.train_images_per_sec,
    inference_runs: report.inference_runs,
    inference_images_per_sec: report.inference_images_per_sec,
    first_step_seconds: report.first_step_seconds,
    last_loss: report.last_loss,
  };
}

/** The same network in TF.js layers: conv, ReLU, batch-norm; pool, dropout; dense head. */
function buildTf(preset) {
  const [blocks, dense, denseDropout] = PRESETS[preset];
  const model = tf.sequential();
  let first = true;
  for (const [filters, convs, dropout] of blocks) {
    for (let i = 0; i < convs; i++) {
      model.add(
        tf.layers.conv2d({
          filters,
          kernelSize: 3,
          padding: "same",
          ...(first ? { inputShape: [32, 32, 3] } : {}),
        }),
      );
      first = false;
      model.add(tf.layers.reLU());
      model.add(tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }));
    }
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    model.add(tf.layers.dropout({ rate: dropout }));
  }
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: dense }));
  model.add(tf.layers.reLU());
  model.add(tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }));
  model.add(tf.layers.dropout({ rate: denseDropout }));
  model.add(tf.layers.dense({ units: 10 }));
  return model;
}

/** Images `start..start+count` (wrapping) of a CIFAR-10 batch file: NHWC in [-0.5, 0.5]. */
function tfBatch(bytes, start, count) {
  const records = bytes.length / 3073;
  const x = new Float32Array(count * 3072);
  const y = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const r = ((start + k) % records) * 3073;
    y[k] = bytes[r];
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < 1024; p++)
        x[k * 3072 + p * 3 + c] = bytes[r + 1 + c * 1024 + p] / 255 - 0.5;
  }
  return { x: tf.tensor4d(x, [count, 32, 32, 3]), y: tf.tensor1d(y, "int32") };
}

/**
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel, so TF.js cannot train a conv net on
 * wasm out of the box ("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"). This
 * supplies it from the backend's own wasm kernels (XNNPACK): the filter gradient of a stride-1
 * convolution is itself a convolution, of the padded input (channels as batch) by the output
 * gradient (batch as channels): dW[i,j,c,o] = sum over n,h,w of xpad[n,h+i,w+j,c] * dy[n,h,w,o].
 * (An im2col + matmul version, as TF.js's CPU backend does it, measured 20-35% slower.)
 */
function registerWasmConvFilterGrad() {
  if (tf.getKernel("Conv2DBackpropFilter", "wasm")) return;
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs;
      const { strides, pad, dataFormat, filterShape } = attrs;
      const stride = Array.isArray(strides) ? strides : [strides, strides];
      const [kh, kw] = filterShape;
      if (stride[0] !== 1 || stride[1] !== 1 || dataFormat !== "NHWC" || kh !== kw)
        throw new Error("Conv2DBackpropFilter (bench): stride 1, NHWC, square filters only");
      const padding = pad === "same" ? (kh - 1) / 2 : pad === "valid" ? 0 : pad;
      const run = (name, inputs, attrs) =>
        tf.getKernel(name, "wasm").kernelFunc({ inputs, backend, attrs });
      const xt = run("Transpose", { x }, { perm: [3, 1, 2, 0] }); // [C, H, W, N]
      const ft = run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] }); // [H, W, N, O]
      const conv = run(
        "Conv2D",
        { x: xt, filter: ft },
        {
          strides: [1, 1],
          pad: padding,
          dataFormat: "NHWC",
          dilations: [1, 1],
        },
      ); // [C, kh, kw, O]
      const out = run("Transpose", { x: conv }, { perm: [1, 2, 0, 3] });
      for (const t of [xt, ft, conv]) backend.disposeData(t.dataId);
      return out;
    },
  });
}

/** TensorFlow.js on `backend` ("wasm" or "webgpu"). */
async function runTf(backend, config) {
  const start = performance.now();
  if (backend === "wasm") {
    tf.wasm.setWasmPaths("/node_modules/@tensorflow/tfjs-backend-wasm/dist/");
    registerWasmConvFilterGrad();
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} unavailable`);
  await tf.ready();
  const bytes = await fetchBytes("data_batch_1.bin");
  const bs = config.batch_size;
  const distinct = Math.max(config.steps, config.warmup, 1);
  const batches = [];
  for (let k = 0; k < distinct; k++) {
    const { x, y } = tfBatch(bytes, k * bs, bs);
    batches.push({ x, y, oneHot: tf.oneHot(y, 10) });
  }
  const model = buildTf(config.preset);
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-5);
  let firstStep = null;
  let lastLoss = NaN;
  const step = async (k) => {
    const { x, y, oneHot } = batches[k % batches.length];
    const stats = tf.tidy(() => {
      let hits;
      const loss = optimizer.minimize(
        () => {
          const logits = model.apply(x, { training: true });
          hits = tf.keep(logits.argMax(1).equal(y).sum().toFloat());
          return tf.losses.softmaxCrossEntropy(oneHot, logits);
        },
        true,
        model.trainableWeights.map((w) => w.val),
      );
      const both = tf.stack([loss, hits]);
      hits.dispose();
      return both;
    });
    lastLoss = (await stats.data())[0];
    stats.dispose();
    if (firstStep === null) firstStep = (performance.now() - start) / 1000;
  };
  // crate/src/bench.rs: at least `warmup` steps, and on until `warmup_seconds` passed.
  for (
    let k = 0;
    k < Math.max(config.warmup, 1) ||
    performance.now() - start < 1000 * (config.warmup_seconds ?? 0);
    k++
  )
    await step(k);
  const trainRuns = [];
  for (let r = 0; r < config.runs; r++) {
    const t = performance.now();
    for (let k = 0; k < config.steps; k++) await step(k);
    trainRuns.push((config.steps * bs * 1000) / (performance.now() - t));
  }
  const inference = [];
  for (let k = 0; k < config.inference_batches; k++)
    inference.push(tfBatch(bytes, k * config.inference_batch, config.inference_batch).x);
  const predict = async (x) => {
    const out = tf.tidy(() => model.predict(x));
    await out.data();
    out.dispose();
  };
  await predict(inference[0]);
  const inferenceRuns = [];
  for (let r = 0; r < config.runs; r++) {
    const t = performance.now();
    for (const x of inference) await predict(x);
    inferenceRuns.push(
      (config.inference_batches * config.inference_batch * 1000) / (performance.now() - t),
    );
  }
  const env = tf.env();
  return {
    train_runs: trainRuns,
    train_images_per_sec: median(trainRuns),
    inference_runs: inferenceRuns,
    inference_images_per_sec: median(inferenceRuns),
    first_step_seconds: firstStep,
    last_loss: lastLoss,
    tfjs: tf.version.tfjs,
    simd: backend === "wasm" ? env.getBool("WASM_HAS_SIMD_SUPPORT") : undefined,
    threads: backend === "wasm" ? env.getBool("WASM_HAS_MULTITHREAD_SUPPORT") : undefined,
  };
}

/**
 * Runs one peer: "ours-flex", "ours-wgpu", "tfjs-wasm", "tfjs-webgpu", and on threads (the page
 * must be cross-origin isolated) "tfjs-wasm-threads" (TF.js wasm on 2 threads) or
 * "ours-flex-threads" (this project's multi-threaded build on all the browser's threads) or
 * "ours-flex-threads1" (the same build on one thread: what the build costs, apart from what its
 * threads gain).
 */
window.runPeer = async (peer, config) => {
  const [who, backend, threads] = peer.split("-");
  if (threads && !crossOriginIsolated) throw new Error("the page is not cross-origin isolated");
  if (who === "ours")
    return runOurs(backend, config, Boolean(threads), threads === "threads1" ? 1 : undefined);
  if (threads) tf.wasm.setThreadsCount(2);
  return runTf(backend, config);
};
window.benchReady = true;
