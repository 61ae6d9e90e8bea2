// This project's core, run as the lab runs it: in a worker (the multi-threaded build's rayon joins
// block the calling thread, which a page's main thread may not do). `build` is the pkg/ folder of
// the build to load; the multi-threaded one starts its pool on `threads` threads first.
self.onmessage = async ({ data: { build, backend, config, threads } }) => {
  try {
    const core = await import(`/pkg/${build}overunlearn.js`);
    await core.default();
    if (core.initThreadPool) await core.initThreadPool(threads);
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
