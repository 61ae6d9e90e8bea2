// Wrong files handed to the page get a message that names the problem: a truncated dataset
// file dropped on the page, and a model file written by another format version.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { openLab, settle, useLab } from "./harness.mjs";

const DATA =
  process.env.OVERUNLEARN_DATA ?? new URL("../../../shared/datasets", import.meta.url).pathname;

const lab = useLab();

async function failure(page, action) {
  await action();
  await page.waitForFunction(() => !document.body.classList.contains("busy"), null, {
    timeout: 120_000,
  });
  return page.textContent("#notice.error");
}

test("a truncated dataset file dropped on the page is named with the problem", async () => {
  const context = await lab.browser.newContext();
  const page = await openLab(context, lab.server.url);
  const meta = readFileSync(`${DATA}/cifar-10-batches-bin/batches.meta.txt`);
  const batch = readFileSync(`${DATA}/cifar-10-batches-bin/data_batch_1.bin`).subarray(
    0,
    3073 * 100 + 17,
  );
  await page.setInputFiles("#files", [
    { name: "batches.meta.txt", mimeType: "text/plain", buffer: meta },
    { name: "data_batch_1.bin", mimeType: "application/octet-stream", buffer: batch },
  ]);
  await settle(page);
  assert.match(await page.textContent("[data-testid=data-status]"), /2 dataset files added/);
  await page.click("nav [data-step=data]");
  const notice = await failure(page, () => page.click("[data-testid=load]"));
  assert.match(notice, /data_batch_1\.bin/);
  assert.match(notice, /truncated/);
  await context.close();
});

test("a model file from another format version is refused with the reason", async () => {
  const context = await lab.browser.newContext();
  const page = await openLab(context, lab.server.url);
  const file = Buffer.alloc(64);
  file.write("OVUNLRN\0", 0, "latin1");
  file.writeUInt32LE(99, 8);
  await page.click("nav [data-step=train]");
  const notice = await failure(page, () =>
    page.setInputFiles("#import-model", {
      name: "old.bin",
      mimeType: "application/octet-stream",
      buffer: file,
    }),
  );
  assert.match(notice, /format version 99/);
  await context.close();
});
