// The Intuition step: the decision regions of a network trained on 2-D points by the core
// (`crate/src/intuition/`), before and after a normal, a Pushing-I and a Pushing-II request of
// the chosen size and tau. Each picture shades P(A) per grid cell and draws the boundary; the
// pictures after a request draw the boundary before it too, so its move into A shows.

const A = [78, 121, 167]; // class A: blue
const B = [242, 142, 43]; // class B: orange (a colour-blind-safe pair)
const TITLES = { normal: "normal", pushing_i: "Pushing-I", pushing_ii: "Pushing-II" };

/** RGBA of P(A) = `p`: B's colour at 0, white at 0.5, A's at 1. */
function shade(p) {
  const [to, t] = p >= 0.5 ? [A, (p - 0.5) * 2] : [B, (0.5 - p) * 2];
  return [...to.map((c) => Math.round(255 + (c - 255) * t * 0.8)), 255];
}

/** Draws the cells whose side (A or not) differs from the next cell's, in `color`. */
function boundary(ctx, probability, side, cell, color) {
  ctx.fillStyle = color;
  const a = (r, c) => probability[r * side + c] > 0.5;
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      if ((c + 1 < side && a(r, c) !== a(r, c + 1)) || (r + 1 < side && a(r, c) !== a(r + 1, c)))
        ctx.fillRect(c * cell + cell / 2 - 1, r * cell + cell / 2 - 1, 3, 3);
    }
  }
}

/** Canvas coordinates of point `k` of `xy` ((x, y) pairs on 0-255, y up). */
const at = (xy, k, size) => [
  ((xy[2 * k] + 0.5) / 256) * size,
  ((255.5 - xy[2 * k + 1]) / 256) * size,
];

/** Draws one picture: regions, boundary (and the one before), training points, submitted. */
function draw(canvas, scene, probability, submitted) {
  const ctx = canvas.getContext("2d");
  const size = canvas.width;
  const side = scene.side;
  const cell = size / side;
  const cells = new ImageData(side, side);
  for (let k = 0; k < side * side; k++) cells.data.set(shade(probability[k]), 4 * k);
  const small = new OffscreenCanvas(side, side);
  small.getContext("2d").putImageData(cells, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, size, size);
  if (submitted) boundary(ctx, scene.before, side, cell, "#999");
  boundary(ctx, probability, side, cell, "#222");
  for (let k = 0; k < scene.labels.length; k++) {
    const [x, y] = at(scene.points, k, size);
    ctx.fillStyle = scene.labels[k] === 0 ? "#1f4e79" : "#a0522d";
    ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
  }
  if (!submitted) return;
  ctx.strokeStyle = "#000";
  ctx.lineWidth = 1.5;
  for (let k = 0; k < submitted.length / 2; k++) {
    const [x, y] = at(submitted, k, size);
    ctx.beginPath();
    ctx.arc(x, y, 4, 0, 2 * Math.PI);
    ctx.stroke();
  }
}

/** The Intuition step's controller: trains the toy once, then redraws on every slider move. */
export class IntuitionView {
  constructor(root) {
    this.client = null;
    this.root = root;
    this.running = false;
    this.pending = false;
    this.percent = root.querySelector("#toy-percent");
    this.tau = root.querySelector("#toy-tau");
    for (const input of [this.percent, this.tau]) input.oninput = () => this.redraw();
  }

  /** Trains the toy network (seed `seed`) in `client`'s worker, then draws. */
  async start(client, seed = 0) {
    this.client = client;
    this.root.dataset.ready = "false";
    const status = this.root.querySelector("#toy-status");
    status.textContent = "training the network on the points…";
    const ready = await this.client.call("intuition", { seed });
    status.textContent =
      `Trained in ${Math.round(ready.train_ms)} ms and ${ready.pushed} of class A's ` +
      `${ready.class_a} points pushed to the boundary in ${Math.round(ready.push_ms)} ms, ` +
      "in this browser.";
    this.root.dataset.ready = "true";
    await this.redraw();
  }

  /** The request's settings as the sliders give them. */
  settings() {
    return { percent: Number(this.percent.value), tau: 10 ** Number(this.tau.value) };
  }

  /** Redraws for the sliders' settings; moves while one runs are folded into one more. */
  async redraw() {
    if (this.root.dataset.ready !== "true") return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.pending = false;
        await this.redrawOnce();
      } while (this.pending);
    } finally {
      this.running = false;
    }
  }

  async redrawOnce() {
    const t = performance.now();
    const { percent, tau } = this.settings();
    this.root.querySelector("#toy-percent-value").textContent = `${percent}%`;
    this.root.querySelector("#toy-tau-value").textContent = tau.toPrecision(2);
    const scene = await this.client.call("scene", { percent, tau });
    draw(this.root.querySelector("#toy-before"), scene, scene.before, null);
    for (const picture of scene.pictures) {
      const figure = this.root.querySelector(`figure[data-attack=${picture.attack}]`);
      draw(figure.querySelector("canvas"), scene, picture.probability_a, picture.submitted);
      figure.dataset.lost = picture.lost;
      figure.querySelector("figcaption").textContent =
        `${TITLES[picture.attack]}: ${Math.round(picture.lost * 100)}% of A's region lost, ` +
        `A's accuracy ${Math.round(picture.accuracy_a * 100)}%`;
    }
    const ms = performance.now() - t;
    this.root.dataset.redrawMs = ms.toFixed(1);
    this.root.dataset.redraws = Number(this.root.dataset.redraws ?? 0) + 1;
    this.root.querySelector("#toy-timing").textContent =
      `${scene.size} points a request; redrawn in ${Math.round(ms)} ms ` +
      `(the core: ${Math.round(scene.milliseconds)} ms).`;
  }
}
