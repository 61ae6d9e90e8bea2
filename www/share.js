// Shareable runs: the whole experiment config (seed and backend included) lives in the URL's
// hash as base64url-encoded JSON, `#config=...`. The core checks what the link holds.

const KEY = "config";

function toBase64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
  return new TextDecoder("utf-8", { fatal: true }).decode(
    Uint8Array.from(binary, (c) => c.charCodeAt(0)),
  );
}

/** The link that reproduces `config` (JSON text) from `location`. */
export function linkFor(config, location = window.location) {
  const url = new URL(location.href);
  url.hash = `${KEY}=${toBase64Url(config)}`;
  return url.href;
}

/**
 * The config JSON text in `hash`, `null` when there is none; throws an Error naming what is
 * wrong with a garbled one (the core then checks the config itself).
 */
export function configFromHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const encoded = params.get(KEY);
  if (encoded === null) return null;
  let text;
  try {
    text = fromBase64Url(encoded);
  } catch {
    throw new Error("the link's config is not valid base64url text (was it cut short?)");
  }
  try {
    JSON.parse(text);
  } catch (error) {
    throw new Error(`the link's config is not JSON: ${error.message}`);
  }
  return text;
}
