'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startMetrics } = require('../src/metrics');

test('GET /metrics counts the events that will never be delivered, by reason', async () => {
  const analytics = { stats: { sent: 7, dropped: 3, rejected: 2 } };
  const server = await startMetrics(analytics, '127.0.0.1', 0);
  try {
    const base = `http://127.0.0.1:${server.address().port}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /^asm_analytics_events_dropped_total\{reason="buffer_full"\} 3$/m);
    assert.match(text, /^asm_analytics_events_dropped_total\{reason="rejected"\} 2$/m);
    assert.match(text, /^asm_analytics_events_sent_total 7$/m);
    assert.equal((await fetch(`${base}/other`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404);
  } finally {
    server.close();
  }
});
