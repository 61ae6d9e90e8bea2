// The Intuition step: the core trains a network on 2-D points in the page's worker; moving the
// request-size slider redraws the regions after a normal and a Pushing-I request, and the pushed
// one loses far more of class A's region, each redraw a slider move causes under 100 ms.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ARTIFACTS, openLab, useLab } from "./harness.mjs";

const lab = useLab();

/** The step's state as the page exposes it. */
const read = (page) =>
  page.$eval("[data-testid=intuition]", (root) => ({
    redraws: Number(root.dataset.redraws ?? 0),
    ms: Number(root.dataset.redrawMs),
    lost: Object.fromEntries(
      [...root.querySelectorAll("figure[data-attack]")].map((f) => [
        f.dataset.attack,
        Number(f.dataset.lost),
      ]),
    ),
    pictures: Object.fromEntries(
      [...root.querySelectorAll("figure[data-attack]")].map((f) => [
        f.dataset.attack,
        f.querySelector("canvas").toDataURL(),
      ]),
    ),
  }));

test("the Intuition step redraws normal and Pushing-I as the request size moves", async () => {
  const context = await lab.browser.newContext();
  const page = await openLab(context, lab.server.url);
  assert.equal(await page.isVisible("[data-testid=intuition]"), true, "the page opens on it");
  await page.waitForFunction(
    () => Number(document.querySelector("[data-testid=intuition]").dataset.redraws) >= 1,
    null,
    { timeout: 60_000 },
  );
  const first = await read(page);
  console.log(
    `${await page.textContent("[data-testid=toy-status]")} ${JSON.stringify(first.lost)}; ` +
      (await page.textContent("#toy-timing")),
  );

  // The bar is on the redraws a slider move causes (the measure). The first picture is
  // drawn while the page is still starting up (configuring the pipeline, listing experiments,
  // restoring a stored model) and shares the main thread and the worker with that work: it is
  // logged above, not held to the bar (115 ms once on the 2-core CI machine, 37-65 ms here).
  const times = [];
  let last = first;
  for (const percent of ["25", "40"]) {
    await page.fill("[data-testid=toy-percent]", percent);
    await page.waitForFunction(
      (n) => Number(document.querySelector("[data-testid=intuition]").dataset.redraws) > n,
      last.redraws,
    );
    const now = await read(page);
    assert.notEqual(now.pictures.normal, last.pictures.normal, "the normal picture redrawn");
    assert.notEqual(now.pictures.pushing_i, last.pictures.pushing_i, "Pushing-I redrawn");
    assert.ok(
      now.lost.pushing_i > now.lost.normal + 0.2,
      `at ${percent}%: Pushing-I loses ${now.lost.pushing_i}, normal ${now.lost.normal}`,
    );
    const timing = await page.textContent("#toy-timing");
    console.log(`at ${percent}%: A's region lost ${JSON.stringify(now.lost)}; ${timing}`);
    times.push(now.ms);
    last = now;
  }
  assert.ok(
    times.every((ms) => ms < 100),
    `each slider redraw under 100 ms: ${times}`,
  );
  await page.screenshot({ path: `${ARTIFACTS}intuition.png`, fullPage: true });
  await context.close();
});
