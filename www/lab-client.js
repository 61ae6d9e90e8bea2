// The page's handle on the worker: each call is a promise; progress reaches a callback.

/** The core's build a backend needs: "webgpu" for wgpu; for flex, "threads" (all the cores)
 * where the page is cross-origin isolated (shared memory needs it), "cpu" (one thread) where
 * it is not. */
function buildFor(backend) {
  if (backend === "wgpu") return "webgpu";
  return globalThis.crossOriginIsolated ? "threads" : "cpu";
}

/** A promise-based client of `worker.js`, running the core's build for `backend`. */
export class LabClient {
  constructor(backend) {
    this.build = buildFor(backend);
    this.worker = new Worker(new URL("./worker.js", import.meta.url), {
      type: "module",
      name: this.build,
    });
    this.pending = new Map();
    this.nextId = 1;
    this.worker.onmessage = ({ data }) => {
      const call = this.pending.get(data.id);
      if (!call) return;
      if ("progress" in data) {
        call.onProgress?.(data.progress);
        return;
      }
      this.pending.delete(data.id);
      if (data.ok) call.resolve(data.value);
      else call.reject(new Error(data.error));
    };
    this.worker.onerror = (event) => {
      const error = new Error(`the lab's worker failed: ${event.message ?? "unknown error"}`);
      for (const call of this.pending.values()) call.reject(error);
      this.pending.clear();
    };
  }

  /** Calls `op` in the worker with `args`; `onProgress` hears its progress reports. */
  call(op, args = {}, onProgress = null, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, op, ...args }, transfer);
    });
  }

  /** Asks a running training to stop after its current step. */
  cancel() {
    this.worker.postMessage({ op: "cancel" });
  }
}
