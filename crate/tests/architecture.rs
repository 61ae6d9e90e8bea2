//! The core's layering, read from its sources: every `crate::` import between the top-level
//! modules points down the list below (no arrow from a lower layer to a higher one), and no
//! folder's files import each other in a circle. A new module must be placed in the list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules from the ground up: each may import only those before it.
const LAYERS: &[&str] = &[
    "error",
    "names",
    "rng",
    "host",
    "parallel",
    "backend",
    "data",
    "tensor",
    "model",
    "metrics",
    "train",
    "training_run",
    "pretrained",
    "unlearn",
    "attack",
    "experiment",
    "defend",
    "intuition",
    "bench",
    "pipeline",
    "wasm",
    "cli",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's module path under `src`, e.g. `["attack", "search", "walk"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and without its `#[cfg(test)]` tail.
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers following `prefix` in `code` (`crate::data::cifar` -> `data`, `cifar`).
fn paths_after<'a>(code: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    code.match_indices(prefix)
        .filter(|(i, _)| {
            *i == 0
                || !code.as_bytes()[i - 1].is_ascii_alphanumeric() && code.as_bytes()[i - 1] != b'_'
        })
        .map(|(i, _)| {
            code[i + prefix.len()..]
                .split("::")
                .map(|s| {
                    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or("")
                })
                .take_while(|s| !s.is_empty())
                .collect()
        })
        .collect()
}

#[test]
fn imports_point_down_the_layers_and_no_folder_has_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let layer = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut upward = Vec::new();
    // Within each folder: file -> files of the same folder it imports.
    let mut within: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(top) = module.first().filter(|t| *t != "main" && *t != "lib") else {
            continue;
        };
        let here = layer(top).unwrap_or_else(|| panic!("place module `{top}` in LAYERS"));
        let code = code(file);
        for path in paths_after(&code, "crate::") {
            let Some(&target) = path.first() else {
                continue;
            };
            if target == top || target == "VERSION" || target == "Error" || target == "Result" {
                continue;
            }
            match layer(target) {
                Some(there) if there < here => {}
                Some(_) => upward.push(format!("{} -> {target}", module.join("::"))),
                None => {}
            }
        }
        if module.len() >= 2 {
            let folder = module[..module.len() - 1].join("::");
            let name = module.join("::");
            let mut siblings: Vec<String> = paths_after(&code, "super::")
                .into_iter()
                .filter_map(|p| p.first().map(|s| format!("{folder}::{s}")))
                .collect();
            siblings.extend(
                paths_after(&code, &format!("crate::{}::", module[0]))
                    .into_iter()
                    .filter_map(|p| p.first().map(|s| format!("{}::{s}", module[0]))),
            );
            let entry = within.entry(name.clone()).or_default();
            entry.extend(siblings.into_iter().filter(|s| *s != name));
        }
    }

    // A circle among the files of one folder: depth-first search from every file.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        circles: &mut BTreeSet<String>,
    ) {
        for next in graph.get(node).into_iter().flatten() {
            if let Some(k) = stack.iter().position(|s| s == next) {
                circles.insert(stack[k..].join(" -> "));
            } else if stack.len() < 16 {
                stack.push(next.clone());
                visit(next, graph, stack, circles);
                stack.pop();
            }
        }
    }
    let mut circles = BTreeSet::new();
    for start in within.keys() {
        visit(start, &within, &mut vec![start.clone()], &mut circles);
    }
    assert!(
        upward.is_empty() && circles.is_empty(),
        "imports from a lower layer to a higher one: {upward:#?}\n\
         modules importing each other in a circle: {circles:#?}"
    );
}

/// The backend's generator is seeded in one place, which keeps track of where it stands
/// (`model::dropout`: drawing burn's dropout masks on all threads needs its position).
#[test]
fn the_backend_is_seeded_through_model_dropout_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let elsewhere: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("model/dropout.rs") && code(f).contains(".seed("))
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(
        elsewhere.is_empty(),
        "seed the backend with model::dropout::seed, not Device::seed: {elsewhere:?}"
    );
}
