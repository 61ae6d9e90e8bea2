// Shared set-up of the end-to-end tests: the built lab served by `vite preview` on 127.0.0.1
// (with the data directory at /datasets/), and Debian's Chromium driven by playwright-core.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

export const ARTIFACTS = new URL("../../test-results/", import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

/** Starts `vite preview` on a free port; resolves to `{ url, stop }`. */
export async function serve() {
  const vite = new URL("../../node_modules/vite/bin/vite.js", import.meta.url).pathname;
  const child = spawn(process.execPath, [vite, "preview", "--port", "0", "--host", "127.0.0.1"], {
    cwd: new URL("../../", import.meta.url).pathname,
    stdio: ["ignore", "pipe", "inherit"],
    // Plain text: with CI=true Vite colours its output, splitting the URL with escape codes.
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += String(chunk).replace(/\x1b\[[0-9;]*m/g, "");
      const match = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (match) resolve(match[0]);
    });
    child.on("exit", (code) => reject(new Error(`vite preview exited (${code}): ${out}`)));
  });
  return { url, stop: () => child.kill() };
}

/** Launches headless Chromium; `webgpu` adds --enable-unsafe-webgpu. */
export function launch({ webgpu = false } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      ...(webgpu ? ["--enable-unsafe-webgpu"] : []),
    ],
  });
}

/** Opens `url` in `context` and waits until the lab has started. */
export async function openLab(context, url) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  // The lab runs under its content security policy: any violation fails the test in settle().
  page.cspViolations = [];
  page.on("console", (message) => {
    if (
      /Content Security Policy|Refused to (load|execute|apply|connect|create)/.test(message.text())
    )
      page.cspViolations.push(message.text());
  });
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 120_000 });
  return page;
}

/** Waits until no action runs in the page; fails with the page's notice if one shows an error. */
export async function settle(page, timeout = 900_000) {
  await page.waitForFunction(() => !document.body.classList.contains("busy"), null, {
    timeout,
    polling: 500,
  });
  if (page.cspViolations?.length) {
    throw new Error(`content security policy violations: ${page.cspViolations.join(" | ")}`);
  }
  const notice = page.locator("#notice.error");
  if (await notice.isVisible()) throw new Error(`the page says: ${await notice.textContent()}`);
}

/** Runs every step on a small subset (20 training and 10 test images a class, one epoch). */
export async function smallRun(page) {
  await page.click("nav [data-step=data]");
  await page.fill("[data-path='run.train_subset.per_class']", "20");
  await page.fill("[data-path='run.test_per_class']", "10");
  await page.click("nav [data-step=train]");
  await page.fill("[data-path='run.train.epochs']", "1");
  await page.click("[data-testid=run-all]");
  await settle(page);
}

/**
 * The results table as objects: `{ attack, accuracy, accuracyA, updateNorm, cells }` per row,
 * the first (`attack: "before"`) the model before unlearning.
 */
export function results(page) {
  return page.$$eval("[data-testid=results-table] tbody tr", (rows) =>
    rows.map((r) => ({
      attack: r.dataset.attack,
      accuracy: Number(r.dataset.accuracy),
      accuracyA: Number(r.dataset.accuracyA),
      updateNorm: Number(r.dataset.updateNorm),
      cells: [...r.cells].map((c) => c.textContent),
    })),
  );
}

/**
 * For a test file: the served lab and a browser, started before its tests and stopped after;
 * `webgpu` as in `launch`. Returns `{ server, browser }`, filled in once started.
 */
export function useLab({ webgpu = false } = {}) {
  const lab = { server: null, browser: null };
  before(async () => {
    lab.server = await serve();
    lab.browser = await launch({ webgpu });
  });
  after(async () => {
    await lab.browser?.close();
    lab.server?.stop();
  });
  return lab;
}
