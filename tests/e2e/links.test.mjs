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
  assert.match(notice, /unknown field `learning_rate`/);
});
