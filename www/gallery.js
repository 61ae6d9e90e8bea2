// The crafted requests, seen: each submitted image beside its original, with the labels, the
// model's predictions, l2, SSIM and the queries it cost.

/** A canvas showing one CHW byte image of `shape` (the core's `{channels, height, width}`),
 * scaled up. */
export function imageCanvas(bytes, { channels, height, width }, scale = 3) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width * scale}px`;
  canvas.style.imageRendering = "pixelated";
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  const plane = width * height;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) image.data[i * 4 + c] = bytes[(channels === 3 ? c : 0) * plane + i];
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

function el(tag, attrs = {}, ...children) {
  const node = Object.assign(document.createElement(tag), attrs);
  node.append(...children);
  return node;
}

/** Renders the crafted requests (`craft`'s answer, the core's `CraftedView`) into `root`. */
export function renderGallery(root, crafted) {
  const { class_names: names, shape } = crafted;
  root.replaceChildren(
    ...crafted.requests.map((request) => {
      const s = request.stats;
      const header = el(
        "h3",
        {},
        `${request.name} · ${request.percent}% · label: ${request.label} — ${s.size} images, ` +
          `${s.crafted} crafted, mean SSIM ${s.mean_ssim.toFixed(3)}, mean l2 ${s.mean_l2.toFixed(2)}` +
          (s.crafted ? `, ${Math.round(s.mean_queries)} queries/image` : ""),
      );
      const samples = request.samples.map((sample) =>
        el(
          "figure",
          { className: "sample" },
          el(
            "div",
            { className: "pair" },
            imageCanvas(sample.original, shape),
            imageCanvas(sample.submitted, shape),
          ),
          el(
            "figcaption",
            {},
            `${names[sample.true_label]} → predicted ${names[sample.predicted_submitted]}`,
            el("br"),
            `submitted as ${names[sample.submitted_label]}`,
            el("br"),
            `l2 ${sample.stealth.l2.toFixed(2)} · SSIM ${sample.stealth.ssim.toFixed(3)}` +
              (sample.queries != null ? ` · ${sample.queries} q` : ""),
          ),
        ),
      );
      return el(
        "div",
        { className: "request" },
        header,
        el("div", { className: "samples" }, ...samples),
      );
    }),
  );
}
