// Which backend the lab runs on: WebGPU where the browser gives a real (hardware) adapter,
// burn's flex CPU backend otherwise. Software adapters (SwiftShader) are offered, not chosen.

/** What this browser offers: `{ webgpu, fallback, adapter, reason }`. */
export async function probeWebGpu() {
  if (!("gpu" in navigator)) {
    return {
      webgpu: false,
      reason: "this browser has no WebGPU (navigator.gpu is missing)",
    };
  }
  let adapter = null;
  try {
    adapter = await navigator.gpu.requestAdapter();
  } catch (error) {
    return {
      webgpu: false,
      reason: `requestAdapter() failed: ${error.message}`,
    };
  }
  if (!adapter) {
    return { webgpu: false, reason: "requestAdapter() returned no adapter" };
  }
  const info = adapter.info ?? {};
  const name =
    [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ") ||
    "unnamed adapter";
  const fallback = Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter);
  return { webgpu: true, fallback, adapter: name };
}

/** The backend to start with: WebGPU on a real adapter, flex otherwise. */
export function preferredBackend(probe) {
  return probe.webgpu && !probe.fallback ? "wgpu" : "flex";
}
