// The lab's charts, drawn with Chart.js. Animation is off and updates are batched, so a busy
// training run never costs the page a long task.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  Tooltip,
} from "chart.js";

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  Tooltip,
);
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

// Okabe and Ito's colour-blind-safe palette: blue, vermillion, orange, sky blue, bluish green,
// reddish purple, yellow (no pair of them is confused under the common colour-vision deficiencies).
const PALETTE = ["#0072b2", "#d55e00", "#e69f00", "#56b4e9", "#009e73", "#cc79a7", "#f0e442"];

/** The live training chart: loss and accuracy per step, validation per epoch. */
export class TrainingChart {
  constructor(canvas) {
    this.chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: [],
        datasets: [
          {
            label: "train loss (moving average)",
            data: [],
            borderColor: PALETTE[0],
            yAxisID: "loss",
            pointRadius: 0,
          },
          {
            label: "train accuracy (moving average)",
            data: [],
            borderColor: PALETTE[2],
            yAxisID: "acc",
            pointRadius: 0,
          },
          {
            label: "validation accuracy",
            data: [],
            borderColor: PALETTE[4],
            yAxisID: "acc",
            spanGaps: true,
          },
        ],
      },
      options: {
        scales: {
          x: {
            title: { display: true, text: "epoch" },
            ticks: { maxTicksLimit: 10 },
          },
          loss: { position: "left", title: { display: true, text: "loss" } },
          acc: {
            position: "right",
            min: 0,
            max: 1,
            title: { display: true, text: "accuracy" },
          },
        },
      },
    });
    this.dirty = false;
  }

  clear() {
    this.fullBatch = 0;
    this.chart.data.labels = [];
    for (const d of this.chart.data.datasets) d.data = [];
    this.chart.update();
  }

  /**
   * Adds a progress report from the core (`kind` "step" or "epoch"). The training curves are
   * moving averages weighted by each batch's images, so an epoch's small last batch (a few
   * images, a noisy accuracy) does not draw a spike.
   */
  add(progress) {
    const [loss, acc, val] = this.chart.data.datasets;
    if (progress.kind === "step") {
      const s = progress;
      this.fullBatch = Math.max(this.fullBatch ?? 0, s.images);
      const w = (0.2 * s.images) / this.fullBatch;
      const smooth = (data, v) => {
        const last = data.length ? data[data.length - 1] : v;
        data.push(last + w * (v - last));
      };
      this.chart.data.labels.push((s.epoch - 1 + s.step / s.steps).toFixed(2));
      smooth(loss.data, s.loss);
      smooth(acc.data, s.accuracy);
      val.data.push(null);
    } else if (progress.kind === "epoch" && progress.val_accuracy != null) {
      const last = val.data.length - 1;
      if (last >= 0) val.data[last] = progress.val_accuracy;
    }
    if (!this.dirty) {
      this.dirty = true;
      setTimeout(() => {
        this.dirty = false;
        this.chart.update("none");
      }, 500);
    }
  }
}

/** Per-class test accuracy: before unlearning and after each request. */
export function classChart(canvas, report, names) {
  const datasets = [
    {
      label: "before",
      data: report.before.per_class.map((v) => v * 100),
      backgroundColor: "#bbb",
    },
    ...report.rows.map((row, k) => ({
      label: row.title,
      data: row.per_class.map((v) => v * 100),
      backgroundColor: PALETTE[k % PALETTE.length],
    })),
  ];
  return new Chart(canvas, {
    type: "bar",
    data: { labels: report.class_names, datasets },
    options: {
      plugins: {
        title: { display: true, text: `per-class test accuracy (%), ${names}` },
      },
      scales: { y: { min: 0, max: 100 } },
    },
  });
}

/** Where class A's correctly classified test images went (the paper's Table V). */
export function shiftChart(canvas, report) {
  const rows = report.rows;
  const part = (key, label, color) => ({
    label,
    data: rows.map((r) => r.shift[key]),
    backgroundColor: color,
  });
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels: rows.map((r) => r.title),
      datasets: [
        part("kept", `kept as ${report.config.class_a}`, PALETTE[0]),
        part("to_b", `moved to ${report.config.class_b}`, PALETTE[1]),
        part("elsewhere", "moved elsewhere", PALETTE[5]),
      ],
    },
    options: {
      indexAxis: "y",
      plugins: {
        title: {
          display: true,
          text: `where ${report.config.class_a}'s test images went`,
        },
      },
      scales: { x: { stacked: true }, y: { stacked: true } },
    },
  });
}

/**
 * The adaptive attacker's trade-off from an `overunlearn defend` report: as the pushed samples'
 * margin floor rises, the boundary check flags fewer requests and class A keeps more accuracy
 * (the over-unlearning is the gap to the line of a normal request, the report's first kind).
 */
export function tradeOffChart(canvas, report) {
  const points = report.adaptive;
  const A = report.config.class_a;
  // The floors are numbers, not categories: a linear axis keeps their spacing honest.
  const line = (value) => points.map((p) => ({ x: p.floor, y: value(p) * 100 }));
  return new Chart(canvas, {
    type: "line",
    data: {
      datasets: [
        {
          label: `${A} after the pushed request (%)`,
          data: line((p) => p.accuracy_a),
          borderColor: PALETTE[1],
          backgroundColor: PALETTE[1],
        },
        {
          label: "flagged by the boundary check (%)",
          data: line((p) => p.flagged),
          borderColor: PALETTE[0],
          backgroundColor: PALETTE[0],
          borderDash: [6, 3],
          pointStyle: "rectRot",
        },
        {
          label: `${A} after a normal request (%)`,
          data: line(() => report.kinds[0].accuracy_a),
          borderColor: PALETTE[2],
          borderDash: [2, 2],
          pointRadius: 0,
        },
        {
          label: `${A} before any request (%)`,
          data: line(() => report.accuracy_a_before),
          borderColor: "#999",
          borderDash: [2, 2],
          pointRadius: 0,
        },
      ],
    },
    options: {
      plugins: {
        title: { display: true, text: "the adaptive attacker: over-unlearning vs being caught" },
      },
      scales: {
        x: {
          type: "linear",
          min: 0,
          max: 1,
          title: { display: true, text: "margin floor the pushed samples keep" },
        },
        y: { min: 0, max: 100, title: { display: true, text: "%" } },
      },
    },
  });
}

// Paul Tol's "muted" scheme (colour-blind-safe), one colour per predicted class (cycling past
// ten classes: the hover names the class).
const CLASS_COLOURS = [
  "#332288",
  "#88ccee",
  "#44aa99",
  "#117733",
  "#999933",
  "#ddcc77",
  "#cc6677",
  "#882255",
  "#aa4499",
  "#555555",
];

/**
 * Class A's test images in the model's feature plane after request `k` of `report`, coloured
 * by the class the model predicts for each (as its confusion matrix counts), over their places
 * before the request (pale), with the request's submitted samples as black crosses.
 * `onHover(testIndex)` hears the test image under the pointer.
 */
export function featureChart(canvas, report, k, onHover) {
  const view = report.features;
  const row = report.rows[k].features;
  const names = report.class_names;
  const classes = [...new Set(row.predicted)].sort((x, y) => x - y);
  const xy = ([x, y]) => ({ x, y });
  const datasets = classes.map((c) => {
    const members = row.predicted.flatMap((p, i) => (p === c ? [i] : []));
    return {
      label: `predicted ${names[c]}`,
      data: members.map((i) => ({ ...xy(row.points[i]), i })),
      backgroundColor: CLASS_COLOURS[c % CLASS_COLOURS.length],
      pointRadius: 3,
    };
  });
  datasets.push({
    label: "before the request",
    data: view.before.map((p, i) => ({ ...xy(p), i })),
    backgroundColor: "#dddddd",
    pointRadius: 2,
  });
  datasets.push({
    label: "submitted samples",
    data: row.submitted.map(xy),
    borderColor: "#000000",
    pointStyle: "crossRot",
    pointRadius: 5,
  });
  return new Chart(canvas, {
    type: "scatter",
    data: { datasets },
    options: {
      plugins: {
        title: {
          display: true,
          text: `${report.config.class_a}'s test images in the feature space: ${report.rows[k].title}`,
        },
        tooltip: {
          callbacks: {
            label: (item) =>
              item.raw.i === undefined
                ? "a submitted sample"
                : `test image ${view.test_indices[item.raw.i]}: ${item.dataset.label}`,
          },
        },
      },
      onHover: (_event, elements) => {
        const hit = elements.find((e) => datasets[e.datasetIndex].data[e.index].i !== undefined);
        if (hit) onHover(view.test_indices[datasets[hit.datasetIndex].data[hit.index].i]);
      },
      scales: {
        x: { title: { display: true, text: "first principal component" } },
        y: { title: { display: true, text: "second principal component" } },
      },
    },
  });
}
