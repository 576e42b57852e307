'use strict';
// Analytics: one event per decision, kept in a bounded buffer (the batch awaiting a retry
// counts toward the bound) and pushed as gzip JSON batches to {ingest}/v2/analytics/events. A batch leaves when it is full or when the push interval
// ticks; one batch is in flight at a time; a failed post (no answer, 5xx, 401, 403, 408, 429)
// is retried with the same X-Batch-Id and events, backing off from the retry base (default
// min(1 s, interval)) to the retry maximum (default 60 s);
// any other 4xx drops the batch (counted). close() takes back a post still waiting for the
// ingest and pushes everything left, within a deadline.

const crypto = require('node:crypto');
const { promisify } = require('node:util');
const zlib = require('node:zlib');

const gzip = promisify(zlib.gzip);
const RETRYABLE = new Set([0, 401, 403, 408, 429]);

class Analytics {
  constructor({ platform, batchSize, intervalS, capacity, log, retryBaseS = null,
    retryMaxS = 60 }) {
    this.platform = platform;
    this.batchSize = batchSize;
    this.intervalMs = intervalS * 1000;
    this.retryBaseMs = retryBaseS === null ? Math.min(1000, this.intervalMs) : retryBaseS * 1000;
    this.retryMaxMs = retryMaxS * 1000;
    this.capacity = capacity;
    this.log = log;
    this.buffer = [];
    this.pending = null; // {id, events, body}: the batch being posted or waiting for a retry
    this.busy = false;
    this.again = null; // 'full' | 'all': a pump asked for while one runs
    this.failures = 0;
    this.retryTimer = null;
    this.inflight = null; // the AbortController of the post under way
    this.ticker = null;
    this.stats = { sent: 0, batches: 0, retries: 0, dropped: 0, rejected: 0 };
  }

  start() {
    this.ticker = setInterval(() => this.pump('all'), this.intervalMs);
  }

  // Events held and not yet delivered: the buffer and the batch being posted or retried.
  held() {
    return this.buffer.length + (this.pending ? this.pending.events.length : 0);
  }

  record(event) {
    if (this.held() >= this.capacity) {
      this.stats.dropped += 1;
      if (this.stats.dropped === 1 || this.stats.dropped % 1000 === 0) {
        this.log.warn(`analytics buffer full (${this.capacity}):`
          + ` ${this.stats.dropped} events dropped`);
      }
      return;
    }
    this.buffer.push(event);
    if (this.buffer.length >= this.batchSize) this.pump('full');
  }

  // Posts batches: only full ones ('full'), or everything buffered ('all').
  async pump(mode) {
    if (this.busy) {
      if (this.again !== 'all') this.again = mode;
      return;
    }
    if (this.retryTimer) return; // waiting to retry the pending batch
    this.busy = true;
    try {
      for (;;) {
        if (!this.pending) {
          const ready = this.buffer.length >= this.batchSize
            || (mode === 'all' && this.buffer.length > 0);
          if (!ready) break;
          await this.takeBatch();
        }
        if (!(await this.post())) {
          this.scheduleRetry();
          break;
        }
        mode = mode === 'all' || this.again === 'all' ? 'all' : 'full';
      }
    } finally {
      this.busy = false;
    }
    const again = this.again;
    this.again = null;
    if (again && !this.retryTimer) this.pump(again);
  }

  async takeBatch() {
    const events = this.buffer.splice(0, this.batchSize);
    const body = await gzip(Buffer.from(JSON.stringify(events), 'utf8'));
    this.pending = { id: crypto.randomUUID(), events, body, attempts: 0 };
  }

  // One attempt at the pending batch; true when it is done with (stored or dropped).
  async post() {
    const batch = this.pending;
    batch.attempts += 1;
    if (batch.attempts > 1) this.stats.retries += 1;
    let status;
    this.inflight = new AbortController();
    try {
      status = (await this.platform.postEvents(batch.body, batch.id, this.inflight.signal)).status;
    } catch (err) {
      status = 0;
      this.lastError = err.message;
    } finally {
      this.inflight = null;
    }
    if (status >= 200 && status < 300) {
      this.stats.sent += batch.events.length;
      this.stats.batches += 1;
      this.pending = null;
      this.failures = 0;
      return true;
    }
    if (RETRYABLE.has(status) || status >= 500) {
      this.failures += 1;
      if (this.failures <= 3 || this.failures % 20 === 0) {
        const why = status ? `status ${status}` : this.lastError;
        this.log.warn(`analytics batch ${batch.id} (${batch.events.length} events) not stored:`
          + ` ${why}; will retry`);
      }
      return false;
    }
    this.stats.rejected += batch.events.length;
    this.log.warn(`analytics batch ${batch.id} refused with status ${status}:`
      + ` ${batch.events.length} events dropped`);
    this.pending = null;
    return true;
  }

  backoffMs() {
    return Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(this.failures - 1, 20));
  }

  scheduleRetry() {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.pump('full');
    }, this.backoffMs());
  }

  // Stops the ticker and posts everything left (retrying) until `timeoutMs` has passed.
  async close(timeoutMs) {
    clearInterval(this.ticker);
    const deadline = Date.now() + timeoutMs;
    // A post still waiting for the ingest (stalled) is taken back: its batch stays pending
    // and is posted again below with the same batch id, so nothing is lost or doubled.
    if (this.inflight) this.inflight.abort();
    while (this.busy && Date.now() < deadline) await sleep(10);
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.busy = true; // no timer-driven pump from here on
    while ((this.pending || this.buffer.length) && Date.now() < deadline) {
      if (!this.pending) await this.takeBatch();
      if (!(await this.post())) await sleep(Math.min(this.backoffMs(), deadline - Date.now()));
    }
    const left = this.held();
    const s = this.stats;
    this.log.info(`analytics: ${s.sent} events sent in ${s.batches} batches, ${s.retries} retries,`
      + ` ${s.dropped} dropped (buffer full), ${s.rejected} refused, ${left} unsent at stop`);
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

module.exports = { Analytics };
