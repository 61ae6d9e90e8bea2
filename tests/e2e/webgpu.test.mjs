// WebGPU: with --enable-unsafe-webgpu, headless Chromium offers SwiftShader's software adapter.
// The page starts on flex (a software adapter is slower) and says so; switched to WebGPU with
// its own control, it runs the whole flow there (a small subset: SwiftShader is slow).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ARTIFACTS, openLab, results, settle, smallRun, useLab } from "./harness.mjs";

const lab = useLab({ webgpu: true });

test("the flow runs on WebGPU when the browser offers it", { timeout: 900_000 }, async () => {
  const context = await lab.browser.newContext();
  const page = await openLab(context, lab.server.url);
  assert.match(await page.textContent("[data-testid=notice]"), /software WebGPU adapter/);
  assert.match(await page.textContent("[data-testid=backend]"), /flex/);

  await page.selectOption("[data-testid=backend-select]", "wgpu");
  await settle(page);
  assert.match(await page.textContent("[data-testid=backend]"), /WebGPU/);
  console.log(`backend: ${await page.textContent("[data-testid=backend]")}`);

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
