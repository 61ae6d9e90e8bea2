// The experiment config and the page's controls, both ways. The config object is the core's
// ExperimentConfig as JSON; the core fills defaults and checks every value.

const get = (object, path) => path.split(".").reduce((o, k) => o?.[k], object);

function set(object, path, value) {
  const keys = path.split(".");
  const last = keys.pop();
  const parent = keys.reduce((o, k) => (o[k] ??= {}), object);
  parent[last] = value;
}

/** Reads one control's value as its `data-type` says; throws naming the field. */
function read(input) {
  const type = input.dataset.type ?? "text";
  const raw = input.type === "checkbox" ? input.checked : input.value.trim();
  const name = input.closest("label")?.textContent.trim().split("\n")[0] ?? input.id;
  const number = (text) => {
    const n = Number(text);
    if (text === "" || !Number.isFinite(n)) throw new Error(`${name}: "${text}" is not a number`);
    return n;
  };
  const integer = (text) => {
    const n = number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: "${text}" is not a whole number`);
    return n;
  };
  const list = (text) => (text === "" ? [] : text.split(",").map((s) => s.trim()));
  switch (type) {
    case "bool":
      return raw;
    case "int":
      return integer(raw);
    case "float":
      return number(raw);
    case "int-or-null":
      return raw === "" ? null : integer(raw);
    case "list":
      return list(raw);
    case "list-int":
      return list(raw).map(integer);
    case "list-float":
      return list(raw).map(number);
    default:
      return raw;
  }
}

function show(input, value) {
  if (input.type === "checkbox") input.checked = Boolean(value);
  else if (Array.isArray(value)) input.value = value.join(", ");
  else input.value = value ?? "";
}

const checked = (root) => [...root.querySelectorAll("input[type=checkbox]")];

/** Puts `config` into the page's controls. */
export function fill(config) {
  for (const input of document.querySelectorAll("[data-path]")) {
    if (input.tagName === "SELECT" && input.options.length === 0) continue;
    show(input, get(config, input.dataset.path));
  }
  for (const box of checked(document.getElementById("attacks"))) {
    const [kind, targeted] = box.value.split(" ");
    const match = config.attacks.find(
      (a) => a.attack === kind && (kind === "blending" || Boolean(a.targeted) === !!targeted),
    );
    box.checked = Boolean(match);
    if (kind === "blending" && match) document.getElementById("blend-ratio").value = match.ratio;
  }
  for (const box of checked(document.getElementById("labels"))) {
    box.checked = config.labels.includes(box.value);
  }
  document.getElementById("search").value = config.push.search.search;
  fillDefences(config.defences ?? []);
  const method = config.method;
  document.getElementById("method").value = method.method;
  if (method.method === "first_order") {
    const fixed = "fixed" in method.tau;
    document.getElementById("tau-mode").value = fixed ? "fixed" : "calibrated";
    if (fixed) document.getElementById("tau-fixed").value = method.tau.fixed;
    else {
      document.getElementById("tau-budget").value = method.tau.calibrated.budget * 100;
      document.getElementById("tau-probe").value = method.tau.calibrated.request_fraction * 100;
    }
    document.getElementById("layers").value = method.layers;
    document.getElementById("service").value = method.service;
    document.getElementById("service-batch").value = method.batch_size;
    document.getElementById("fo-steps").value = method.steps;
  } else if (method.method !== "retrain") {
    document.getElementById("sgd-lr").value = method.learning_rate;
    document.getElementById("sgd-epochs").value = method.epochs;
    document.getElementById("sgd-batch").value = method.batch_size;
  }
  showMethodParams();
}

/** Each defence's parameter: its control, and the config field (monitoring's in points). */
const DEFENCE_PARAMS = {
  near_duplicate: ["defence-tolerance", "tolerance", 1],
  boundary: ["defence-boundary", "false_rejection", 1],
  membership: ["defence-membership", "false_rejection", 1],
  monitor: ["defence-margin", "margin", 100],
};

function fillDefences(defences) {
  for (const box of checked(document.getElementById("defences"))) {
    const match = defences.find((d) => d.defence === box.value);
    box.checked = Boolean(match);
    const param = DEFENCE_PARAMS[box.value];
    if (match && param) document.getElementById(param[0]).value = match[param[1]] * param[2];
  }
}

/** The defences the Unlearn step's switches describe, in the order the service runs them. */
function collectDefences() {
  return checked(document.getElementById("defences"))
    .filter((box) => box.checked)
    .map((box) => {
      const param = DEFENCE_PARAMS[box.value];
      if (!param) return { defence: box.value };
      const value = read(document.getElementById(param[0])) / param[2];
      return { defence: box.value, [param[1]]: value };
    });
}

/** Shows the parameters of the chosen unlearning method only. */
export function showMethodParams() {
  const method = document.getElementById("method").value;
  document.getElementById("first-order-params").hidden = method !== "first_order";
  document.getElementById("sgd-params").hidden = !["fine_tune", "gradient_ascent"].includes(method);
}

/** The config the controls describe, starting from `base` (fields the page does not show). */
export function collect(base) {
  const config = structuredClone(base);
  for (const input of document.querySelectorAll("[data-path]")) {
    if (input.tagName === "SELECT" && input.options.length === 0) continue;
    set(config, input.dataset.path, read(input));
  }
  config.attacks = checked(document.getElementById("attacks"))
    .filter((box) => box.checked)
    .map((box) => {
      const [attack, targeted] = box.value.split(" ");
      return attack === "blending"
        ? { attack, ratio: read(document.getElementById("blend-ratio")) }
        : { attack, targeted: Boolean(targeted) };
    });
  config.labels = checked(document.getElementById("labels"))
    .filter((box) => box.checked)
    .map((box) => box.value);
  if (config.labels.length === 0) config.labels = ["original"];
  config.defences = collectDefences();
  const search = document.getElementById("search").value;
  config.push.search = search === config.push.search.search ? config.push.search : { search };
  const method = document.getElementById("method").value;
  const number = (id) => read(document.getElementById(id));
  if (method === "first_order") {
    config.method = {
      method,
      tau:
        document.getElementById("tau-mode").value === "fixed"
          ? { fixed: number("tau-fixed") }
          : {
              calibrated: {
                request_fraction: number("tau-probe") / 100,
                budget: number("tau-budget") / 100,
              },
            },
      steps: number("fo-steps"),
      service: document.getElementById("service").value,
      batch_size: number("service-batch"),
      layers: document.getElementById("layers").value,
    };
  } else if (method === "retrain") {
    config.method = { method };
  } else {
    config.method = {
      method,
      learning_rate: number("sgd-lr"),
      epochs: number("sgd-epochs"),
      batch_size: number("sgd-batch"),
    };
  }
  return config;
}

/** Fills the class pickers with `names`, keeping `config`'s choices. */
export function setClasses(names, config) {
  for (const id of ["class-a", "class-b"]) {
    const select = document.getElementById(id);
    select.replaceChildren(...names.map((n) => new Option(n, n)));
  }
  document.getElementById("class-a").value = config.class_a;
  document.getElementById("class-b").value = config.class_b;
}
