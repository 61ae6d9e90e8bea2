// The lab end to end in headless Chromium, through the page's own controls: the tutorial
// flow on flex (train, craft normal and Pushing-I requests, unlearn, results), main-thread
// responsiveness during training, the service's defences switched on, a reload, and a copied
// link in a fresh browser.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { ARTIFACTS, openLab, results, settle, useLab } from "./harness.mjs";

const lab = useLab();
const shipsDefendReport = readdirSync(new URL("../../experiments/reports/", import.meta.url)).some(
  (file) => /^defend-.*\.json$/.test(file),
);

/** Collects the durations of main-thread long tasks into `window.longTasks`. */
const observeLongTasks = () => {
  window.longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
  }).observe({ type: "longtask", buffered: true });
};

test(
  "the tutorial flow shows over-unlearning, a defence flags it, reloads and links keep it all",
  { timeout: 1_800_000 },
  async () => {
    const context = await lab.browser.newContext();
    await context.addInitScript(observeLongTasks);
    const page = await openLab(context, lab.server.url);

    // Without --enable-unsafe-webgpu there is no adapter: the page says it runs on flex.
    assert.match(await page.textContent("[data-testid=backend]"), /flex/);
    assert.match(await page.textContent("[data-testid=notice]"), /WebGPU is not available/);

    // 1. data (the page opens on the Intuition step)
    await page.click("nav [data-step=data]");
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
    // How far each request moved the model, beside what it did (the core's update_norm).
    console.log(`model moved: normal ${normal.updateNorm}, Pushing-I ${pushing.updateNorm}`);
    assert.ok(normal.updateNorm > 0 && pushing.updateNorm > 0, JSON.stringify(rows));
    // The column shows each request's figure, and none for the model before unlearning.
    const moved = (
      await page.$$eval("[data-testid=results-table] thead th", (ths) =>
        ths.map((th) => th.textContent),
      )
    ).indexOf("model moved");
    assert.equal(untouched.cells[moved], "", "no movement figure before unlearning");
    for (const row of [normal, pushing])
      assert.equal(row.cells[moved], row.updateNorm.toFixed(3), JSON.stringify(row.cells));
    // The bar: 20 points (measured 44% vs 24% on this build's tutorial model, seed 0;
    // README, "The tutorial's service"). 1e-9 absorbs the percentages' float rounding.
    assert.ok(
      pushing.accuracyA <= normal.accuracyA - 0.2 + 1e-9,
      "Pushing-I leaves airplane at least 20 points below the normal request",
    );
    await page.screenshot({ path: `${ARTIFACTS}results.png`, fullPage: true });

    // The feature view of the first request: its points are airplane's test images, each
    // coloured as the confusion matrix beside it counts them; the PNG export holds it.
    const view = await page.$eval("[data-testid=features]", (f) => ({
      hidden: f.hidden,
      points: Number(f.dataset.points),
      predicted: JSON.parse(f.dataset.predicted),
    }));
    const confusion = await page.$eval("[data-testid=confusion] table", (t) => {
      const names = [...t.tHead.rows[0].cells].slice(1).map((c) => c.textContent);
      const row = [...t.tBodies[0].rows].find((r) => r.cells[0].textContent === "airplane");
      return Object.fromEntries(
        names.map((n, j) => [n, Number(row.cells[j + 1].textContent)]).filter(([, v]) => v > 0),
      );
    });
    assert.equal(view.hidden, false);
    assert.deepEqual(view.predicted, confusion);
    assert.equal(
      view.points,
      Object.values(confusion).reduce((s, v) => s + v, 0),
    );
    const downloads = [];
    page.on("download", (d) => downloads.push(d.suggestedFilename()));
    await page.click("#export-png");
    await page.waitForTimeout(1000);
    assert.ok(downloads.includes("feature-chart.png"), `downloads: ${downloads}`);

    // 6. the service's defences: fingerprints switched on in the Unlearn step; the same
    // requests (not crafted again) meet the defended service, which names what it refused and
    // passes the normal request.
    await page.click("nav [data-step=unlearn]");
    await page.check("#defences input[value=fingerprint]");
    // The adaptive attacker's trade-off, drawn from the shipped `defend` report if there is one.
    assert.equal(await page.isVisible("[data-testid=trade-off] canvas"), shipsDefendReport);
    const crafting = await page.textContent("[data-testid=craft-status]");
    await page.click("[data-testid=unlearn]");
    await settle(page);
    assert.equal(await page.textContent("[data-testid=craft-status]"), crafting);
    const verdicts = await page.$$eval("[data-testid=results-table] tbody tr[data-verdict]", (rs) =>
      rs.map((r) => ({
        attack: r.dataset.attack,
        verdict: r.dataset.verdict,
        text: r.querySelector("[data-testid=verdict]").textContent,
      })),
    );
    console.log(`with fingerprints: ${JSON.stringify(verdicts)}`);
    const screened = Object.fromEntries(verdicts.map((v) => [v.attack, v]));
    assert.equal(screened.normal?.verdict, "accepted", JSON.stringify(verdicts));
    assert.match(screened.pushing_i?.verdict ?? "", /^(rejected|trimmed)$/);
    assert.match(screened.pushing_i.text, /fingerprint/);
    const defended = await results(page);
    assert.equal(
      defended.find((r) => r.attack === "normal").accuracyA,
      normal.accuracyA,
      "the accepted normal request is unlearned as before",
    );

    // A reload keeps the trained model and the finished results.
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    await settle(page);
    assert.match(
      await page.textContent("[data-testid=train-status]"),
      /restored from this browser/,
    );
    assert.deepEqual(await results(page), defended);

    // The copied link, opened in a fresh browser context, reproduces the same numbers and the
    // same verdicts (the link carries the defences).
    await page.click("[data-testid=copy-link]");
    const link = page.url();
    assert.match(link, /#config=/);
    const fresh = await lab.browser.newContext();
    const other = await openLab(fresh, link);
    await other.click("[data-testid=run-all]");
    await settle(other);
    assert.deepEqual(await results(other), defended);
    await fresh.close();
    await context.close();
  },
);
