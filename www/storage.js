// What survives a reload, in IndexedDB: trained models (model-file bytes with their training
// report) keyed by their run config, and the last experiment report. (The config itself lives
// in the URL and local storage: see config-store.js.)

const DB = "overunlearn-lab";
const STORE = "items";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("storage transaction aborted"));
    });
  } finally {
    db.close();
  }
}

/** Stores `value` under `key`. */
export const put = (key, value) => transact("readwrite", (s) => s.put(value, key));

/** The value under `key`, or undefined. */
export const get = (key) => transact("readonly", (s) => s.get(key));

/** Removes `key`. */
export const remove = (key) => transact("readwrite", (s) => s.delete(key));

/** The storage key of the model trained with run config `run` (an object). */
export const modelKey = (run) => `model:${JSON.stringify(run)}`;
