// A minimal static server for the bench page on 127.0.0.1: each URL prefix maps to a folder.
import { createServer } from "node:http";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Serves `routes` ({ "/prefix/": "/folder" }) on 127.0.0.1 (any free port), with `headers` on
 * every response (e.g. COOP/COEP for a cross-origin isolated page).
 */
export function serve(routes, headers = {}) {
  const entries = Object.entries(routes).sort((a, b) => b[0].length - a[0].length);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const route = entries.find(([prefix]) => path.startsWith(prefix));
    if (!route) return void res.writeHead(404).end("not found");
    const root = resolve(route[1]);
    let file = normalize(join(root, path.slice(route[0].length)));
    if (!file.startsWith(root)) return void res.writeHead(403).end("forbidden");
    try {
      // A folder is its page, or the module its package.json names (wasm-bindgen-rayon's
      // worker imports the bindings as the package three folders up).
      if (statSync(file).isDirectory()) {
        const manifest = join(file, "package.json");
        file = existsSync(manifest)
          ? join(file, JSON.parse(readFileSync(manifest, "utf8")).main)
          : join(file, "index.html");
      }
      const size = statSync(file).size;
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "content-length": size,
        "cache-control": "no-store",
        ...headers,
      });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  return new Promise((ok) =>
    server.listen(0, "127.0.0.1", () =>
      ok({ server, url: `http://127.0.0.1:${server.address().port}` }),
    ),
  );
}

/** The bench page's routes: the page, the core's builds (`pkg`), its npm packages, the datasets. */
export function benchRoutes(pkg, data) {
  return {
    "/": join(HERE, "page"),
    "/pkg/": pkg,
    "/node_modules/": join(HERE, "node_modules"),
    "/data/": data,
  };
}

/** The headers that make a page cross-origin isolated (SharedArrayBuffer, so wasm threads). */
export const ISOLATION_HEADERS = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
};
