// All the browser's cores: the lab's page is served cross-origin isolated (COOP/COEP), so on flex
// it runs the multi-threaded core and says how many threads it uses. Where a host does not send
// those headers, the page falls back to the single-threaded core and says why. Both give the same
// model, bit for bit, and the same results: a shared link reproduces its numbers whatever the
// thread count (issue 16, point 5).
import assert from "node:assert/strict";
import { test } from "node:test";
import { openLab, results, smallRun, useLab } from "./harness.mjs";

const lab = useLab();

/** Runs the small flow in a fresh context; `isolated: false` strips the isolation headers. */
async function run({ isolated }) {
  const context = await lab.browser.newContext();
  if (!isolated) {
    await context.route("**/*", async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers["cross-origin-opener-policy"];
      delete headers["cross-origin-embedder-policy"];
      await route.fulfill({ response, headers });
    });
  }
  const page = await openLab(context, lab.server.url);
  const backend = await page.textContent("[data-testid=backend]");
  const start = Date.now();
  await smallRun(page);
  const outcome = {
    isolated: await page.evaluate(() => crossOriginIsolated),
    backend,
    seconds: (Date.now() - start) / 1000,
    model: await page.evaluate(() => window.labTest.modelSha256()),
    rows: await results(page),
  };
  await context.close();
  console.log(`${backend}: small flow in ${outcome.seconds.toFixed(1)} s, model ${outcome.model}`);
  return outcome;
}

test(
  "flex uses every core where the page is isolated, one where not, with the same numbers",
  { timeout: 900_000 },
  async () => {
    const many = await run({ isolated: true });
    assert.ok(many.isolated, "the lab's server sends COOP/COEP");
    const threads = Number(many.backend.match(/(\d+) threads?/)?.[1]);
    assert.ok(threads >= 2, `the isolated page names its threads: ${many.backend}`);

    const one = await run({ isolated: false });
    assert.ok(!one.isolated);
    assert.match(one.backend, /1 thread: the page is not cross-origin isolated/);

    assert.equal(one.model, many.model, "the trained model differs between 1 and more threads");
    assert.deepEqual(one.rows, many.rows);
  },
);
