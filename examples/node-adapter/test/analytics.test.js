'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { Analytics } = require('../src/analytics');

const quiet = { info() {}, warn() {}, error() {} };

function platform(statuses) {
  const posts = [];
  return {
    posts,
    async postEvents(body, batchId) {
      const events = JSON.parse(zlib.gunzipSync(body).toString('utf8'));
      posts.push({ batchId, events });
      const status = statuses.length ? statuses.shift() : 202;
      if (status === 'drop') throw new Error('socket hang up');
      return { status };
    },
  };
}

// Waits (bounded) until `done()` holds; the batcher works on timers and promises.
async function until(done, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(done(), 'condition not reached in time');
}

test('a full batch leaves at once; the rest waits for the interval or the stop', async () => {
  const p = platform([]);
  const a = new Analytics({ platform: p, batchSize: 3, intervalS: 60, capacity: 100, log: quiet });
  for (let i = 0; i < 7; i++) a.record({ n: i });
  await until(() => p.posts.length === 2 && !a.busy);
  assert.deepEqual(p.posts.map((x) => x.events.length), [3, 3]);
  await a.close(1000);
  assert.deepEqual(p.posts.map((x) => x.events.length), [3, 3, 1]);
  assert.equal(new Set(p.posts.map((x) => x.batchId)).size, 3);
});

test('a failed post is retried with the same batch id and events', async () => {
  const p = platform([503, 'drop', 202]);
  const a = new Analytics({ platform: p, batchSize: 2, intervalS: 0.01, capacity: 100, log: quiet });
  a.record({ n: 1 });
  a.record({ n: 2 });
  await until(() => p.posts.length === 3);
  assert.equal(new Set(p.posts.map((x) => x.batchId)).size, 1);
  assert.deepEqual(p.posts[2].events, [{ n: 1 }, { n: 2 }]);
  await a.close(100);
});

test('a 400 drops the batch (counted) and the next one goes on', async () => {
  const p = platform([400]);
  const a = new Analytics({ platform: p, batchSize: 1, intervalS: 60, capacity: 100, log: quiet });
  a.record({ n: 1 });
  await until(() => a.stats.rejected === 1 && !a.busy);
  a.record({ n: 2 });
  await until(() => a.stats.sent === 1);
  assert.equal(a.stats.rejected, 1);
  assert.equal(a.stats.sent, 1);
  await a.close(100);
});

test('a full buffer drops new events and counts them', async () => {
  const p = platform([]);
  const a = new Analytics({ platform: p, batchSize: 100, intervalS: 60, capacity: 2, log: quiet });
  for (let i = 0; i < 5; i++) a.record({ n: i });
  assert.equal(a.stats.dropped, 3);
  await a.close(1000);
  assert.deepEqual(p.posts.map((x) => x.events.length), [2]);
});

test('a batch awaiting its retry counts toward the buffer bound', async () => {
  const p = platform([503, 503, 503]);
  const a = new Analytics({ platform: p, batchSize: 3, intervalS: 60, capacity: 3, log: quiet });
  for (let i = 0; i < 3; i++) a.record({ n: i });
  await until(() => p.posts.length === 1 && !a.busy); // posted, refused, held for a retry
  a.record({ n: 3 });
  assert.equal(a.stats.dropped, 1);
  assert.equal(a.held(), 3);
  await a.close(3000);
  assert.deepEqual(p.posts.at(-1).events.map((e) => e.n), [0, 1, 2]);
});

test('a stop takes back a stalled post and posts the batch again, same id', async () => {
  const posts = [];
  const p = {
    posts,
    async postEvents(body, batchId, abort) {
      const events = JSON.parse(zlib.gunzipSync(body).toString('utf8'));
      posts.push({ batchId, events });
      if (posts.length === 1) {
        // the ingest never answers the first post: only the abort ends it
        await new Promise((resolve, reject) => abort.addEventListener('abort',
          () => reject(new Error('aborted'))));
      }
      return { status: 202 };
    },
  };
  const a = new Analytics({ platform: p, batchSize: 1, intervalS: 60, capacity: 10, log: quiet });
  a.record({ n: 1 });
  await until(() => posts.length === 1);
  const started = Date.now();
  await a.close(2000);
  assert.ok(Date.now() - started < 1500, 'the stop waited for the stalled post');
  assert.equal(posts.length, 2);
  assert.equal(posts[1].batchId, posts[0].batchId);
  assert.equal(a.stats.sent, 1);
});
