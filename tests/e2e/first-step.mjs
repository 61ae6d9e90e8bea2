// Measures, in headless Chromium, the time from page load to the first training step of the
// tutorial scenario on flex (fetching the wasm and the dataset files included), then stops.
import { launch, openLab, serve } from "./harness.mjs";

// A probe must never hang a build: give up after five minutes.
let server = null;
setTimeout(() => {
  console.error("first-step probe: no first training step within 5 minutes");
  server?.stop();
  process.exit(1);
}, 300_000).unref();
server = await serve();
const browser = await launch();
try {
  const context = await browser.newContext();
  const page = await openLab(context, server.url);
  await page.click("nav [data-step=train]");
  await page.click("[data-testid=train]");
  await page.waitForFunction(() => window.labTimings?.firstStep, null, { timeout: 300_000 });
  const t = await page.evaluate(() => window.labTimings);
  await page.click("[data-testid=cancel]");
  console.log(
    `time from page load to the first training step: ${(t.firstStep / 1000).toFixed(1)} s ` +
      `(lab ready ${(t.ready / 1000).toFixed(1)} s, data loaded ${(t.dataLoaded / 1000).toFixed(1)} s)`,
  );
} finally {
  await browser.close();
  server.stop();
}
