// Hours of use: the tutorial flow five times in one page, a new seed each time; the worker's
// wasm memory must settle (growth from run 2 to run 5 within MEMORY_GROWTH) and the main thread
// stay responsive. Then a fault injected into the worker: the page restarts it, says so, and
// keeps the trained model and the results stored in the browser.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openLab, results, settle, useLab } from "./harness.mjs";

const lab = useLab();
/** The most the wasm memory may grow from the end of run 2 to the end of run 5. */
const MEMORY_GROWTH = 64 << 20;

test("five runs in one page, then a crashed worker", { timeout: 3_600_000 }, async () => {
  const context = await lab.browser.newContext();
  await context.addInitScript(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
    }).observe({ type: "longtask", buffered: true });
  });
  const page = await openLab(context, lab.server.url);
  const memory = [];
  for (let run = 1; run <= 5; run++) {
    const started = Date.now();
    await page.click("nav [data-step=data]");
    await page.fill("[data-path='run.seed']", String(100 + run));
    await page.click("[data-testid=run-all]");
    await settle(page);
    const rows = await results(page);
    assert.equal(rows.length, 3, `run ${run}: before, normal and Pushing-I`);
    memory.push(await page.evaluate(() => window.labTest.memory()));
    console.log(
      `run ${run}: ${((Date.now() - started) / 1000).toFixed(0)} s, wasm memory ` +
        `${(memory.at(-1) / 2 ** 20).toFixed(0)} MB`,
    );
  }
  const growth = memory[4] - memory[1];
  assert.ok(growth <= MEMORY_GROWTH, `memory grew ${growth} bytes from run 2 to run 5`);
  // Over whole runs (results and charts drawn included; training alone is held to 200 ms in
  // lab.test.mjs): 243 ms measured here with both cores shared with other jobs.
  const longest = await page.evaluate(() => Math.max(0, ...window.longTasks));
  console.log(`longest main-thread task over the five runs: ${longest} ms`);
  assert.ok(longest <= 500, `a main-thread task took ${longest} ms`);

  const shown = await results(page);
  await page.evaluate(() => window.labTest.fault());
  await settle(page).catch(() => {}); // the notice says what happened; read it below
  const notice = await page.textContent("[data-testid=notice]");
  assert.match(
    notice,
    /core failed \(the lab's worker failed: .*fault injected by a test.*\) and was restarted/,
  );
  assert.deepEqual(await results(page), shown, "the results are still shown");
  assert.match(
    await page.textContent("[data-testid=train-status]"),
    /Trained model restored from this browser/,
  );
  // The restarted core goes on from the stored model: no training.
  await page.click("[data-testid=run-all]");
  await settle(page);
  assert.match(await page.textContent("[data-testid=train-status]"), /restored from this browser/);
  assert.equal((await results(page)).length, 3);
  await context.close();
});
