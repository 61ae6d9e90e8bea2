// The link codec (www/share.js), property-tested with fast-check: any text round-trips through
// a link, and any hash a user could paste either yields JSON text (for the core to check) or
// throws an Error naming the problem; nothing else escapes. The runs: FAST_CHECK_RUNS (default
// 2,000, a second of the suite) or, for the long run the README reports, FAST_CHECK_SECONDS.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { configFromHash, linkFor } from "../../www/share.js";

const seconds = Number(process.env.FAST_CHECK_SECONDS ?? 0);
const options = seconds
  ? { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000, seed: 15 }
  : { numRuns: Number(process.env.FAST_CHECK_RUNS ?? 2000), seed: 15 };
const location = { href: "http://127.0.0.1:4173/" };

test("any JSON text round-trips through a link", () => {
  const stats = fc.check(
    fc.property(fc.json(), (text) => {
      const hash = new URL(linkFor(text, location)).hash;
      assert.equal(configFromHash(hash), text);
    }),
    options,
  );
  console.log(`round trip: ${stats.numRuns} runs`);
  assert.equal(stats.failed, false, fc.defaultReportMessage(stats));
});

test("any hash yields JSON text, null, or an Error that names the problem", () => {
  const hash = fc.oneof(
    fc.string({ unit: "binary" }),
    fc.string().map((s) => `#config=${s}`),
    fc.uint8Array().map((b) => `#config=${Buffer.from(b).toString("base64url")}`),
    fc.json().map((t) => `#config=${Buffer.from(t).toString("base64url").slice(0, -1)}`),
  );
  const stats = fc.check(
    fc.property(hash, (h) => {
      try {
        const text = configFromHash(h);
        if (text !== null) JSON.parse(text);
      } catch (error) {
        assert.ok(error instanceof Error, `not an Error: ${error}`);
        assert.match(error.message, /the link's config is not (valid base64url|JSON)/);
      }
    }),
    options,
  );
  console.log(`hashes: ${stats.numRuns} runs`);
  assert.equal(stats.failed, false, fc.defaultReportMessage(stats));
});
