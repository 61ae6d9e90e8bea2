// WebGPU: with --enable-unsafe-webgpu, headless Chromium offers SwiftShader's software adapter.
// The page starts on flex (a software adapter is slower) and says so, having downloaded only the
// core's CPU build (within the size budget); switched to WebGPU with its own control, it loads the
// WebGPU build and runs the whole flow there (a small subset: SwiftShader is slow).
import assert from "node:assert/strict";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { ARTIFACTS, openLab, results, settle, smallRun, useLab } from "./harness.mjs";

const lab = useLab({ webgpu: true });

/** The page's download budget for the core it starts with (issue 16). */
const BUDGET = { raw: 8e6, gzip: 2e6 };

test("the flow runs on WebGPU when the browser offers it", { timeout: 900_000 }, async () => {
  const context = await lab.browser.newContext();
  /** The wasm files the page fetched, in order, with their sizes. */
  const wasm = [];
  const record = async (response) => {
    if (!response.url().endsWith(".wasm")) return;
    // A restarted worker may fetch again while the context closes: nothing to record then.
    const body = await response.body().catch(() => null);
    if (body)
      wasm.push({
        url: response.url(),
        raw: body.length,
        gzip: gzipSync(body, { level: 9 }).length,
      });
  };
  context.on("response", record);
  const page = await openLab(context, lab.server.url);
  assert.match(await page.textContent("[data-testid=notice]"), /software WebGPU adapter/);
  assert.match(await page.textContent("[data-testid=backend]"), /flex/);
  const cpu = [...new Set(wasm.map((w) => w.url))];
  assert.equal(cpu.length, 1, `a flex page fetches one core build: ${cpu}`);
  const [start] = wasm;
  console.log(`CPU build: ${start.raw} bytes, ${start.gzip} gzipped (${start.url})`);
  assert.ok(start.raw <= BUDGET.raw && start.gzip <= BUDGET.gzip, JSON.stringify(start));

  await page.selectOption("[data-testid=backend-select]", "wgpu");
  await settle(page);
  assert.match(await page.textContent("[data-testid=backend]"), /WebGPU/);
  console.log(`backend: ${await page.textContent("[data-testid=backend]")}`);
  const gpu = wasm.find((w) => w.url !== start.url);
  assert.ok(gpu, "switching to WebGPU loads the WebGPU build");
  console.log(`WebGPU build: ${gpu.raw} bytes, ${gpu.gzip} gzipped`);
  context.off("response", record);

  await smallRun(page);
  const rows = await results(page);
  assert.deepEqual(
    rows.map((r) => r.attack),
    ["before", "normal", "pushing_i"],
  );
  assert.match(await page.textContent("[data-testid=results-summary]"), /Backend wgpu/);
  await page.screenshot({ path: `${ARTIFACTS}results-webgpu.png`, fullPage: true });
  await context.close();
});
