// The lab end to end in headless Chromium, through the page's own controls: the tutorial
// flow on flex (train, craft normal and Pushing-I requests, unlearn, results), main-thread
// responsiveness during training, a reload, and a copied link in a fresh browser.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ARTIFACTS, openLab, results, settle, useLab } from "./harness.mjs";

const lab = useLab();

/** Collects the durations of main-thread long tasks into `window.longTasks`. */
const observeLongTasks = () => {
  window.longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
  }).observe({ type: "longtask", buffered: true });
};

test(
  "the tutorial flow shows over-unlearning; reloads and links keep and reproduce it",
  { timeout: 1_800_000 },
  async () => {
    const context = await lab.browser.newContext();
    await context.addInitScript(observeLongTasks);
    const page = await openLab(context, lab.server.url);

    // Without --enable-unsafe-webgpu there is no adapter: the page says it runs on flex.
    assert.match(await page.textContent("[data-testid=backend]"), /flex/);
    assert.match(await page.textContent("[data-testid=notice]"), /WebGPU is not available/);

    // 1. data
    await page.click("[data-testid=load]");
    await settle(page);
    assert.match(await page.textContent("[data-testid=data-status]"), /Loaded 2250 training/);

    // 2. train, watching the main thread
    await page.click("nav [data-step=train]");
    const before = await page.evaluate(() => window.longTasks.length);
    await page.click("[data-testid=train]");
    await settle(page);
    const longTasks = await page.evaluate((n) => window.longTasks.slice(n), before);
    console.log(
      `long tasks during training: ${longTasks.length}, longest ${Math.max(0, ...longTasks)} ms`,
    );
    assert.ok(
      longTasks.every((d) => d <= 200),
      `main-thread tasks over 200 ms: ${longTasks}`,
    );
    assert.match(await page.textContent("[data-testid=train-status]"), /test accuracy/);

    // 3. requests: normal and Pushing-I (the tutorial's choice)
    await page.click("nav [data-step=request]");
    assert.ok(await page.isChecked("#attacks input[value=pushing_i]"));
    await page.click("[data-testid=craft]");
    await settle(page);
    assert.equal(await page.locator("[data-testid=gallery] .request").count(), 2);
    assert.ok((await page.locator("[data-testid=gallery] canvas").count()) >= 4);

    // 4. unlearn with the tutorial's first-order service
    await page.click("nav [data-step=unlearn]");
    await page.click("[data-testid=unlearn]");
    await settle(page);

    // 5. results: an honest baseline (a normal request costs little and does not raise the
    // forgotten class) and the attack's effect (Pushing-I removes far more of it).
    const rows = await results(page);
    const untouched = rows.find((r) => r.attack === "before");
    const normal = rows.find((r) => r.attack === "normal");
    const pushing = rows.find((r) => r.attack === "pushing_i");
    assert.ok(untouched && normal && pushing, `rows: ${JSON.stringify(rows)}`);
    console.log(
      `overall / airplane accuracy: before ${untouched.accuracy} / ${untouched.accuracyA}, ` +
        `normal ${normal.accuracy} / ${normal.accuracyA}, ` +
        `Pushing-I ${pushing.accuracy} / ${pushing.accuracyA}`,
    );
    assert.ok(
      normal.accuracy >= untouched.accuracy - 0.03,
      "a normal request costs at most 3 points",
    );
    assert.ok(normal.accuracyA <= untouched.accuracyA, "a normal request does not raise airplane");
    // The bar: 20 points (measured 44% vs 24% on this build's tutorial model, seed 0;
    // README, "The tutorial's service"). 1e-9 absorbs the percentages' float rounding.
    assert.ok(
      pushing.accuracyA <= normal.accuracyA - 0.2 + 1e-9,
      "Pushing-I leaves airplane at least 20 points below the normal request",
    );
    await page.screenshot({ path: `${ARTIFACTS}results.png`, fullPage: true });

    // A reload keeps the trained model and the finished results.
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    await settle(page);
    assert.match(
      await page.textContent("[data-testid=train-status]"),
      /restored from this browser/,
    );
    assert.deepEqual(await results(page), rows);

    // The copied link, opened in a fresh browser context, reproduces the same numbers.
    await page.click("[data-testid=copy-link]");
    const link = page.url();
    assert.match(link, /#config=/);
    const fresh = await lab.browser.newContext();
    const other = await openLab(fresh, link);
    await other.click("[data-testid=run-all]");
    await settle(other);
    assert.deepEqual(await results(other), rows);
    await fresh.close();
    await context.close();
  },
);
