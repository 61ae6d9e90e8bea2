// The results view: the table of every request side by side, the per-class and Table V charts
// and the confusion matrices, from the core's experiment report.
import { classChart, featureChart, shiftChart } from "./charts.js";

const pct = (v) => (v * 100).toFixed(1);

let charts = [];
let features = null;

/** Shows `report` in the results step; `showImage(testIndex)` shows a hovered test image. */
export function renderResults(report, showImage) {
  const c = report.config;
  const a = report.class_names.indexOf(c.class_a);
  document.getElementById("results-summary").textContent =
    `Before unlearning: test accuracy ${pct(report.before.accuracy)}%, ${c.class_a} ` +
    `${pct(report.before.per_class[a])}%. Method: ${report.method}` +
    (report.tau ? `, τ ${report.tau.toExponential(3)}` : "") +
    `. Backend ${report.backend}, seed ${c.run.seed}, version ${report.version}.`;
  const table = document.getElementById("results-table");
  const head = [
    "request",
    "images",
    "crafted",
    "overall %",
    `${c.class_a} %`,
    `${c.class_b} %`,
    `${c.class_a} kept`,
    `→ ${c.class_b}`,
    "→ elsewhere",
    "mean SSIM",
    "queries/image",
    [
      "model moved",
      "How far the unlearning moved the model: the l2 distance of all its parameters",
    ],
    "service",
  ];
  table.replaceChildren();
  const tr = table.createTHead().insertRow();
  for (const h of head) {
    const [textContent, title = ""] = [h].flat();
    tr.append(Object.assign(document.createElement("th"), { textContent, title }));
  }
  const body = table.createTBody();
  const b = report.class_names.indexOf(c.class_b);
  const first = body.insertRow();
  first.dataset.attack = "before";
  first.dataset.accuracy = report.before.accuracy;
  first.dataset.accuracyA = report.before.per_class[a];
  for (const v of [
    "before unlearning",
    "",
    "",
    pct(report.before.accuracy),
    pct(report.before.per_class[a]),
    pct(report.before.per_class[b]),
    report.rows[0]?.shift.correct_before ?? "",
    "",
    "",
    "",
    "",
    "",
    "",
  ])
    first.insertCell().textContent = v;
  for (const row of report.rows) {
    const r = body.insertRow();
    r.dataset.attack = row.attack.attack + (row.attack.targeted ? "_targeted" : "");
    r.dataset.accuracy = row.accuracy;
    r.dataset.accuracyA = row.accuracy_a;
    r.dataset.updateNorm = row.update_norm ?? "";
    for (const v of [
      row.title,
      row.size,
      row.crafted,
      pct(row.accuracy),
      pct(row.accuracy_a),
      pct(row.accuracy_b),
      row.shift.kept,
      row.shift.to_b,
      row.shift.elsewhere,
      row.mean_ssim.toFixed(3),
      row.crafted ? Math.round(row.mean_queries) : "",
      row.update_norm?.toFixed(3) ?? "",
    ])
      r.insertCell().textContent = v;
    const verdict = r.insertCell();
    verdict.dataset.testid = "verdict";
    r.dataset.verdict = row.verdict?.verdict ?? "undefended";
    verdict.textContent = verdictText(row);
    verdict.title = (row.checks ?? []).map((c) => `${c.defence}: ${c.detail}`).join("\n");
  }
  for (const chart of charts) chart.destroy();
  charts = [
    classChart(document.getElementById("class-chart"), report, `class A: ${c.class_a}`),
    shiftChart(document.getElementById("shift-chart"), report),
  ];
  const select = document.getElementById("confusion-select");
  select.replaceChildren(...report.rows.map((row, k) => new Option(row.title, k)));
  const show = (k) => {
    renderConfusion(report, k);
    renderFeatures(report, k, showImage);
  };
  select.onchange = () => show(Number(select.value));
  show(0);
}

/** The feature view of row `k` (hidden for reports recorded before it existed). */
function renderFeatures(report, k, showImage) {
  features?.destroy();
  features = null;
  const row = report.rows[k].features;
  const root = document.getElementById("features");
  root.hidden = !(report.features && row);
  if (root.hidden) return;
  features = featureChart(document.getElementById("feature-chart"), report, k, showImage);
  // What the chart draws, for tests: its points and how many of them each class was given.
  const counts = {};
  for (const p of row.predicted) {
    const name = report.class_names[p];
    counts[name] = (counts[name] ?? 0) + 1;
  }
  root.dataset.points = row.points.length;
  root.dataset.predicted = JSON.stringify(counts);
}

/** What the defended service did with a row's request, in words (its reason when it objected). */
function verdictText(row) {
  const v = row.verdict;
  if (!v) return "no defence";
  if (v.verdict === "rejected" || v.verdict === "rolled_back")
    return `${v.verdict.replace("_", " ")}: ${v.reason}`;
  if (v.verdict === "trimmed") {
    const by = (row.checks ?? []).filter((c) => c.flagged).map((c) => c.defence);
    return `trimmed: ${v.rejected} of ${row.size} samples rejected (${by.join(", ")})`;
  }
  return "accepted";
}

/** The confusion matrix of row `k` as a shaded table (rows: true class; columns: predicted). */
function renderConfusion(report, k) {
  const m = report.rows[k].confusion;
  const names = report.class_names;
  const table = document.createElement("table");
  table.className = "confusion";
  const head = table.createTHead().insertRow();
  head.insertCell().textContent = "true \\ predicted";
  for (const n of names) head.insertCell().textContent = n;
  const body = table.createTBody();
  m.forEach((counts, i) => {
    const total = counts.reduce((s, v) => s + v, 0) || 1;
    const r = body.insertRow();
    r.insertCell().textContent = names[i];
    for (const v of counts) {
      const cell = r.insertCell();
      cell.textContent = v;
      // At most 70% blue, so the black count keeps a contrast above 4.5:1 (WCAG AA).
      cell.style.background = `rgba(78, 121, 167, ${((0.7 * v) / total).toFixed(3)})`;
    }
  });
  document.getElementById("confusion").replaceChildren(table);
}

/** The report as CSV: one line per request. */
export function toCsv(report) {
  const head = [
    "percent,attack,targeted,label,size,crafted,accuracy,accuracy_a,accuracy_b,kept,to_b,elsewhere,mean_l2,mean_ssim,mean_queries,mean_seconds,update_norm",
  ];
  const lines = report.rows.map((r) =>
    [
      r.percent,
      r.attack.attack,
      Boolean(r.attack.targeted),
      r.label,
      r.size,
      r.crafted,
      r.accuracy,
      r.accuracy_a,
      r.accuracy_b,
      r.shift.kept,
      r.shift.to_b,
      r.shift.elsewhere,
      r.mean_l2,
      r.mean_ssim,
      r.mean_queries,
      r.mean_seconds,
      r.update_norm ?? "",
    ].join(","),
  );
  return [...head, ...lines].join("\n") + "\n";
}

/** Downloads `content` as a file called `name`. */
export function download(name, content, type) {
  const url = URL.createObjectURL(
    content instanceof Blob ? content : new Blob([content], { type }),
  );
  const a = Object.assign(document.createElement("a"), {
    href: url,
    download: name,
  });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
