// What the repository ships beside the lab, as the build found it: the experiments
// (`experiments/*.json`, the same configs `overunlearn reproduce --config` reads), the trained
// models (`models/NAME.bin` with their reports `NAME.json`) and the crafted requests
// (`experiments/crafted/KEY24-PART.json.gz`: the first 24 characters of their crossings key, then
// the goal side and request size; the core says which parts a run needs).
// Listing them at build time means the page never asks the server for a file it lacks.

const name = (path) =>
  path
    .split("/")
    .pop()
    .replace(/\.(json|bin|json\.gz)$/, "");
const byName = (modules) =>
  Object.fromEntries(Object.entries(modules).map(([path, value]) => [name(path), value]));

/** Experiment configs by file name. */
export const experiments = byName(
  import.meta.glob("../experiments/*.json", { eager: true, import: "default" }),
);

/** Shipped models by name: `{ url, report }` (the report holds the SHA-256 the core checks). */
const reports = byName(import.meta.glob("../models/*.json", { eager: true, import: "default" }));
const modelUrls = byName(
  import.meta.glob("../models/*.bin", { eager: true, query: "?url", import: "default" }),
);
export const models = Object.fromEntries(
  Object.entries(modelUrls)
    .filter(([model]) => reports[model])
    .map(([model, url]) => [model, { url, report: reports[model] }]),
);

/** Crafted-request files by stem (`KEY24-PART`): URL. */
export const crafted = byName(
  import.meta.glob("../experiments/crafted/*.json.gz", {
    eager: true,
    query: "?url",
    import: "default",
  }),
);

/** The shipped `overunlearn defend` reports by name (`experiments/reports/defend-*.json`). */
export const defendReports = byName(
  import.meta.glob("../experiments/reports/defend-*.json", { eager: true, import: "default" }),
);
