'use strict';
// A periodic task: runs, then waits its interval; after a failure it retries sooner, backing
// off from a base (0.5 s by default; doubling, never longer than the maximum, by default the
// interval; ±20% jitter). kick() runs it at once (or right after the run in progress).

class Loop {
  constructor(name, intervalS, task,
    { log, random = Math.random, backoffBaseS = 0.5, backoffMaxS = null }) {
    this.name = name;
    this.intervalMs = intervalS * 1000;
    this.backoffBaseMs = backoffBaseS * 1000;
    this.backoffMaxMs = backoffMaxS === null ? this.intervalMs : backoffMaxS * 1000;
    this.task = task;
    this.log = log;
    this.random = random;
    this.timer = null;
    this.running = false;
    this.again = false;
    this.failures = 0;
    this.stopped = true;
    this.onResult = () => {};
  }

  start() {
    this.stopped = false;
    this.kick();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
  }

  kick() {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = null;
    this.run();
  }

  async run() {
    this.running = true;
    let ok = false;
    try {
      await this.task();
      ok = true;
      if (this.failures > 0) {
        this.log.info(`${this.name} sync: recovered after ${this.failures} failed attempts`);
      }
      this.failures = 0;
    } catch (err) {
      this.failures += 1;
      if (this.failures <= 3 || this.failures % 20 === 0) {
        this.log.warn(`${this.name} sync failed (attempt ${this.failures}): ${err.message}`);
      }
    } finally {
      this.running = false;
    }
    this.onResult(ok);
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.timer = setTimeout(() => this.kick(), 0);
      return;
    }
    this.timer = setTimeout(() => this.kick(), ok ? this.intervalMs : this.backoffMs());
  }

  backoffMs() {
    const base = Math.min(this.backoffMaxMs,
      this.backoffBaseMs * 2 ** Math.min(this.failures - 1, 20));
    return base * (0.8 + 0.4 * this.random());
  }
}

module.exports = { Loop };
