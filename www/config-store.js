// The experiment config's one owner, as TensorFlow Playground's state is: it starts from the
// link, else the last config used in this browser, else the core's defaults, and every config
// the core accepts is mirrored to the URL (a link reproduces the run) and to local storage.
import { configFromHash, linkFor } from "./share.js";

const LAST = "overunlearn:last-config";

export class ConfigStore {
  /** `check(text)` is the core's check: it resolves to the filled-in config object or throws. */
  constructor(check) {
    this.check = check;
    this.config = null;
  }

  /**
   * Starts from the link in `hash`, else the last config, else `defaults` (an object); returns
   * a message when a link could not be used (the defaults are kept then), `null` otherwise.
   */
  async start(defaults, hash) {
    this.config = defaults;
    let fromLink;
    try {
      fromLink = configFromHash(hash);
      if (fromLink) this.config = await this.check(fromLink);
    } catch (error) {
      this.config = defaults;
      return `This link's config could not be used: ${error.message}. The defaults are kept.`;
    }
    if (!fromLink) {
      const last = localStorage.getItem(LAST);
      if (last) this.config = await this.check(last).catch(() => defaults);
    }
    return null;
  }

  /** Makes `config` (checked by the core) current and mirrors it to the URL and storage. */
  save(config) {
    this.config = config;
    const text = JSON.stringify(config);
    history.replaceState(null, "", linkFor(text));
    localStorage.setItem(LAST, text);
  }
}
