// Prints the benchmark table (Markdown) from the JSON lines scripts/bench.sh collected.
//   node report.mjs FILE.jsonl
import { readFileSync } from "node:fs";

const lines = readFileSync(process.argv[2], "utf8")
  .split("\n")
  .filter((l) => l.trim().startsWith("{"))
  .map((l) => JSON.parse(l));
const find = (pred) => lines.find(pred);
const fmt = (x, digits = 0) =>
  x === undefined || x === null || Number.isNaN(x)
    ? "-"
    : x.toLocaleString("en-US", {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      });
const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : "-");
const cell = (r, key) =>
  r?.error ? "failed" : r?.skipped ? `not run (${r.skipped})` : fmt(r?.[key]);

const machine = find((l) => l.kind === "machine");
if (machine)
  console.log(
    `Machine: ${machine.cpu}, ${machine.cores} cores; load average ${machine.load_before} before, ${machine.load_after} after; ${machine.date}\n`,
  );

const pairs = [
  ["native, CPU (2 threads)", "native", "ours-flex", "pytorch", "PyTorch"],
  ["native, CPU (1 thread)", "native1", "ours-flex", "pytorch", "PyTorch"],
  ["Chromium, CPU (wasm)", "browser", "ours-flex", "tfjs-wasm", "TF.js wasm"],
  [
    "Chromium, CPU (wasm), COOP/COEP page, threads",
    "browser",
    "ours-flex-threads",
    "tfjs-wasm-threads",
    "TF.js wasm, 2 threads",
  ],
  [
    "Chromium, CPU (wasm): threads vs one thread",
    "browser",
    "ours-flex-threads",
    "ours-flex",
    "this project, 1 thread",
  ],
  ["Chromium, WebGPU (SwiftShader)", "browser", "ours-wgpu", "tfjs-webgpu", "TF.js WebGPU"],
];
console.log(
  "| where | preset | peer | train img/s: ours | peer | ours/peer | inference img/s: ours | peer | ours/peer |",
);
console.log("|---|---|---|--:|--:|--:|--:|--:|--:|");
for (const preset of ["tutorial", "lab", "paper"])
  for (const [label, where, ours, peer, peerName] of pairs) {
    const get = (p) =>
      find(
        (l) => l.kind === "throughput" && l.where === where && l.peer === p && l.preset === preset,
      );
    const a = get(ours);
    const b = get(peer);
    if (!a && !b) continue;
    console.log(
      `| ${label}${a?.threads > 1 ? ` (${a.threads} threads)` : ""} | ${preset} | ${peerName} | ${cell(a, "train_images_per_sec")} | ${cell(b, "train_images_per_sec")} | ${ratio(a?.train_images_per_sec, b?.train_images_per_sec)} | ${cell(a, "inference_images_per_sec")} | ${cell(b, "inference_images_per_sec")} | ${ratio(a?.inference_images_per_sec, b?.inference_images_per_sec)} |`,
    );
  }

const first = find((l) => l.kind === "first_step");
console.log("\n| browser start-up | value |\n|---|--:|");
const mb = (b) => (b / 1e6).toFixed(2) + " MB";
const builds = {
  cpu: "CPU build (pkg/, flex only)",
  threads: "multi-threaded CPU build (pkg/threads/)",
  webgpu: "WebGPU build (pkg/webgpu/)",
};
for (const size of lines.filter((l) => l.kind === "size")) {
  const build = builds[size.build] ?? size.build;
  console.log(
    `| wasm download, ${build}, raw / gzip -9 | ${mb(size.wasm_raw)} / ${mb(size.wasm_gzip)} |`,
  );
  console.log(
    `| JS glue, ${build}, raw / gzip -9 | ${fmt(size.js_raw / 1e3, 1)} kB / ${fmt(size.js_gzip / 1e3, 1)} kB |`,
  );
}
if (first)
  console.log(
    first.error
      ? `| page load to first training step | failed: ${first.error} |`
      : `| page load to wasm ready (loopback, no cache) | ${fmt(first.wasm_ready_ms)} ms |\n| page load to end of first training step (tutorial, flex) | ${fmt(first.first_step_ms)} ms |`,
  );

const push = lines.filter((l) => l.kind === "push");
if (push.length) {
  const meta = find((l) => l.kind === "push_meta");
  console.log(`\nPushing (untargeted, default limits${meta ? `, ${meta.note}` : ""}):\n`);
  console.log(
    "| search | samples | crossed | queries / sample | seconds / sample |\n|---|--:|--:|--:|--:|",
  );
  for (const p of push)
    console.log(
      `| ${p.search} | ${p.samples} | ${p.crossed} | ${fmt(p.queries_per_sample)} | ${fmt(p.seconds_per_sample, 2)} |`,
    );
}
const failures = lines.filter((l) => l.error);
for (const f of failures)
  console.log(`\nfailed: ${f.peer ?? f.kind} ${f.preset ?? ""}: ${f.error}`);
