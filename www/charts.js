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
  Tooltip,
);
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

const PALETTE = ["#4e79a7", "#e15759", "#f28e2b", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"];

/** The live training chart: loss and accuracy per step, validation per epoch. */
export class TrainingChart {
  constructor(canvas) {
    this.chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: [],
        datasets: [
          {
            label: "train loss",
            data: [],
            borderColor: PALETTE[0],
            yAxisID: "loss",
            pointRadius: 0,
          },
          {
            label: "train accuracy",
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
    this.chart.data.labels = [];
    for (const d of this.chart.data.datasets) d.data = [];
    this.chart.update();
  }

  /** Adds a progress report from the core (`kind` "step" or "epoch"). */
  add(progress) {
    const [loss, acc, val] = this.chart.data.datasets;
    if (progress.kind === "step") {
      const s = progress;
      this.chart.data.labels.push((s.epoch - 1 + s.step / s.steps).toFixed(2));
      loss.data.push(s.loss);
      acc.data.push(s.accuracy);
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
        part("kept", `kept as ${report.config.class_a}`, PALETTE[4]),
        part("to_b", `moved to ${report.config.class_b}`, PALETTE[1]),
        part("elsewhere", "moved elsewhere", PALETTE[2]),
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
 * margin floor rises, the boundary check flags fewer requests and class A keeps more accuracy.
 */
export function tradeOffChart(canvas, report) {
  const points = report.adaptive;
  const percent = (v) => v * 100;
  return new Chart(canvas, {
    type: "line",
    data: {
      labels: points.map((p) => p.floor.toFixed(2)),
      datasets: [
        {
          label: `${report.config.class_a} test accuracy after the request (%)`,
          data: points.map((p) => percent(p.accuracy_a)),
          borderColor: PALETTE[1],
          backgroundColor: PALETTE[1],
          yAxisID: "y",
        },
        {
          label: "requests flagged by the boundary check (%)",
          data: points.map((p) => percent(p.flagged)),
          borderColor: PALETTE[0],
          backgroundColor: PALETTE[0],
          borderDash: [6, 3],
          pointStyle: "rectRot",
          yAxisID: "y",
        },
        {
          label: `${report.config.class_a} before any request (%)`,
          data: points.map(() => percent(report.accuracy_a_before)),
          borderColor: "#999",
          borderDash: [2, 2],
          pointRadius: 0,
          yAxisID: "y",
        },
      ],
    },
    options: {
      plugins: {
        title: { display: true, text: "the adaptive attacker: over-unlearning vs being caught" },
      },
      scales: {
        x: { title: { display: true, text: "margin floor the pushed samples keep" } },
        y: { min: 0, max: 100, title: { display: true, text: "%" } },
      },
    },
  });
}
