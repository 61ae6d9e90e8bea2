// Every step of the page at 1280, 768 and 390 px wide (a laptop, a tablet, a phone): a
// screenshot of each in test-results/, no step wider than the screen (tables and charts scroll
// or shrink inside it), and axe-core's accessibility rules with no serious or critical violation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AxeBuilder } from "@axe-core/playwright";
import { ARTIFACTS, openLab, smallRun, useLab } from "./harness.mjs";

const lab = useLab();
const WIDTHS = [1280, 768, 390];
const STEPS = ["intuition", "data", "train", "request", "unlearn", "results"];

test(
  "every step reads at 1280, 768 and 390 px and passes axe-core",
  { timeout: 900_000 },
  async () => {
    const context = await lab.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await openLab(context, lab.server.url);
    // A small run, so that every step has its content (chart, gallery, results).
    await smallRun(page);
    await page.waitForSelector("[data-testid=intuition][data-ready=true]", { state: "attached" });

    // The steps are reached from the keyboard: Tab to a step's button, Enter to open it.
    await page.focus("nav [data-step=intuition]");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    assert.equal(await page.isVisible("#step-data"), true, "Tab, Enter: the Data step");

    const problems = [];
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      for (const step of STEPS) {
        await page.click(`nav [data-step=${step}]`);
        await page.waitForTimeout(150); // charts resize on the next frame
        await page.screenshot({ path: `${ARTIFACTS}step-${step}-${width}.png`, fullPage: true });
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - window.innerWidth,
        );
        if (overflow > 0)
          problems.push(`${step} at ${width} px: ${overflow} px wider than the screen`);
        const { violations } = await new AxeBuilder({ page }).include("body").analyze();
        for (const v of violations.filter((v) => ["serious", "critical"].includes(v.impact))) {
          const where = v.nodes.map((n) => n.target.join(" ")).slice(0, 4);
          problems.push(`${step} at ${width} px: ${v.id} (${v.impact}): ${v.help} at ${where}`);
        }
      }
    }
    assert.deepEqual([...new Set(problems)], []);
    await context.close();
  },
);
