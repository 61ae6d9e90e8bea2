// Links and bad input: a garbled link or an invalid config is refused with a message naming
// the problem, and the defaults are kept.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openLab, useLab } from "./harness.mjs";

const lab = useLab();

const encode = (object) => Buffer.from(JSON.stringify(object)).toString("base64url");

async function noticeFor(hash) {
  const context = await lab.browser.newContext();
  const page = await openLab(context, `${lab.server.url}#${hash}`);
  const notice = await page.textContent("[data-testid=notice]");
  const epochs = await page.inputValue("[data-path='run.train.epochs']");
  await context.close();
  return { notice, epochs };
}

test("a garbled link shows a clear message and keeps the defaults", async () => {
  const { notice, epochs } = await noticeFor("config=%%%not-base64");
  assert.match(notice, /link's config could not be used: .*base64url/);
  assert.equal(epochs, "8");
});

test("a link whose config is not JSON is refused", async () => {
  const { notice } = await noticeFor(`config=${Buffer.from("{run:").toString("base64url")}`);
  assert.match(notice, /not JSON/);
});

test("a link with a percentage over 100 names the problem", async () => {
  const { notice } = await noticeFor(`config=${encode({ percentages: [150] })}`);
  assert.match(notice, /percentage.*150/);
});

test("a link with an unknown field names it", async () => {
  const { notice } = await noticeFor(`config=${encode({ run: { learning_rate: 1 } })}`);
  assert.match(notice, /run\.learning_rate: unknown field learning_rate/);
});

// Issue 15's hand-edited links: each refused with the field, the value and what is allowed.
for (const [what, patch, message] of [
  [
    "a negative seed",
    { run: { seed: -1 } },
    /run\.seed: -1 is not allowed: expected a whole number/,
  ],
  [
    "a hundred million epochs",
    { run: { train: { epochs: 100000000 } } },
    /run\.train\.epochs: 100000000 is not allowed: give a whole number from 1 to 1000/,
  ],
  [
    "four billion images a class",
    { run: { train_subset: { per_class: 4000000000 } } },
    /run\.train_subset\.per_class: 4000000000 is not allowed: give a whole number from 1 to 10000/,
  ],
]) {
  test(`a link with ${what} is refused before any work`, async () => {
    const { notice, epochs } = await noticeFor(`config=${encode(patch)}`);
    assert.match(notice, message);
    assert.equal(epochs, "8", "the defaults are kept");
  });
}

/** Opens a link holding `patch` (the rest from the defaults), runs every step, returns the
 * notice and the training status. */
async function runLink(patch) {
  const context = await lab.browser.newContext();
  const page = await openLab(context, `${lab.server.url}#config=${encode(patch)}`);
  await page.click("[data-testid=run-all]");
  await page.waitForFunction(() => !document.body.classList.contains("busy"), null, {
    timeout: 300_000,
  });
  const notice = await page.textContent("[data-testid=notice]");
  const trained = await page.textContent("[data-testid=train-status]");
  await context.close();
  return { notice, trained };
}

test("a link whose class A the dataset lacks is named before any training", async () => {
  const { notice, trained } = await runLink({ class_a: "unicorn" });
  assert.match(notice, /class_a: "unicorn" is not a class of this dataset \(its classes: airplane/);
  assert.equal(trained, "", "nothing was trained");
});

test("a link whose request would hold no image names the smallest size", async () => {
  const { notice, trained } = await runLink({ percentages: [0.0001] });
  assert.match(
    notice,
    /percentages: 0\.0001% of airplane's \d+ training images is less than one image: give at least/,
  );
  assert.equal(trained, "", "nothing was trained");
});

test("the lab is served under its content security policy, which blocks inline script", async () => {
  const response = await fetch(lab.server.url);
  const policy = response.headers.get("content-security-policy");
  assert.match(policy, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(policy, /unsafe-inline|https?:/);
  const context = await lab.browser.newContext();
  const failed = [];
  context.on("response", (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
  const page = await openLab(context, lab.server.url);
  assert.deepEqual(failed, [], "every request of a page load succeeds");
  const blocked = await page.evaluate(
    () =>
      new Promise((resolve) => {
        document.addEventListener("securitypolicyviolation", (e) => resolve(e.violatedDirective));
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.body.append(script);
        setTimeout(() => resolve(window.injected ? "ran" : "silent"), 2000);
      }),
  );
  assert.match(blocked, /script-src/);
  await context.close();
});
