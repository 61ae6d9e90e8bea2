// This project's multi-threaded build, run as the lab runs it: in a worker (a rayon join blocks
// the calling thread, which a page's main thread may not do), its pool on `threads` threads.
self.onmessage = async ({ data: { backend, config, threads } }) => {
  try {
    const core = await import("/pkg/threads/overunlearn.js");
    await core.default();
    await core.initThreadPool(threads);
    const bytes = async (n) =>
      new Uint8Array(await (await fetch("/data/cifar-10-batches-bin/" + n)).arrayBuffer());
    const lab = await core.Lab.create(backend);
    lab.addFile("cifar-10-batches-bin/batches.meta.txt", await bytes("batches.meta.txt"));
    lab.addFile("cifar-10-batches-bin/data_batch_1.bin", await bytes("data_batch_1.bin"));
    self.postMessage({ ok: true, report: JSON.parse(await lab.bench(JSON.stringify(config))) });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e) });
  }
};
