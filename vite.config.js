// The lab's dev server and static build. The dev and preview servers also serve the data
// directory (OVERUNLEARN_DATA, default ../shared/datasets or ./data) at /datasets/, so the page
// can read the official dataset files without a drop; a static deployment may ship that folder
// beside the page or leave it out (users then drop the official archive on the page).
import { createReadStream, existsSync, statSync } from "node:fs";
import { resolve, normalize, sep } from "node:path";
import { defineConfig } from "vite";

const dataDir = resolve(
  process.env.OVERUNLEARN_DATA ??
    (existsSync("../shared/datasets") ? "../shared/datasets" : "data"),
);

/** Serves the files under `dataDir` at /datasets/ (read-only, no listing). */
function serveDatasets() {
  const middleware = (req, res, next) => {
    const url = new URL(req.url, "http://lab");
    if (!url.pathname.startsWith("/datasets/")) return next();
    const relative = decodeURIComponent(url.pathname.slice("/datasets/".length));
    const path = normalize(resolve(dataDir, relative));
    if (!path.startsWith(dataDir + sep) || !existsSync(path) || !statSync(path).isFile()) {
      res.statusCode = 404;
      res.end(`no such dataset file: ${relative}`);
      return;
    }
    res.setHeader("Content-Type", "application/octet-stream");
    res.setHeader("Content-Length", statSync(path).size);
    createReadStream(path).pipe(res);
  };
  return {
    name: "overunlearn-datasets",
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
  };
}

/**
 * The content security policy the lab is served with (and that a static host must send, see the
 * README): its own scripts, the wasm core compiled from them ('wasm-unsafe-eval'), its worker,
 * fetches to its own origin (datasets, models, crafted requests; the dev server's websocket),
 * canvases read back as data/blob URLs; no inline script or style, no remote origin, no frames.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const headers = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  // Cross-origin isolation: the multi-threaded core shares its memory with its workers
  // (SharedArrayBuffer), which browsers allow only in an isolated page.
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

export default defineConfig({
  base: "./",
  plugins: [serveDatasets()],
  server: { host: "127.0.0.1", port: 5173, strictPort: false, headers },
  preview: { host: "127.0.0.1", port: 4173, strictPort: false, headers },
  worker: { format: "es" },
  build: { outDir: "dist", target: "es2022", chunkSizeWarningLimit: 4096 },
});
