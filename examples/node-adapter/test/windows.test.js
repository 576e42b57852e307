'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { FixedWindows, parseLimits } = require('../src/policies/windows');
const { ConfigError } = require('../src/policies/credentials');

const limits = (...pairs) => pairs.map(([max, periodMs]) => ({ max, periodMs }));

test('the window opens with the first request, not at creation', () => {
  const w = new FixedWindows(limits([2, 1000]));
  assert.equal(w.take(5000).allowed, true);
  assert.equal(w.take(5900).allowed, true);
  assert.equal(w.take(5999).allowed, false);
  assert.equal(w.take(6000).allowed, true); // the window of the first request has ended
});

test('a fixed window is not a sliding one', () => {
  // A sliding window of 2/1000 ms would refuse the request at 1100 (two in the last second).
  const w = new FixedWindows(limits([2, 1000]));
  assert.equal(w.take(0).allowed, true);
  assert.equal(w.take(900).allowed, true);
  assert.equal(w.take(1100).allowed, true);
  assert.equal(w.take(1200).allowed, true);
  assert.equal(w.take(1300).allowed, false);
});

test('several limits: every one must have quota, and a refusal consumes nothing', () => {
  const w = new FixedWindows(limits([2, 400], [3, 60000]));
  assert.equal(w.take(0).allowed, true);
  assert.equal(w.take(1).allowed, true);
  assert.equal(w.take(2).allowed, false); // the short limit
  assert.equal(w.take(500).allowed, true); // third of the minute
  assert.equal(w.take(501).allowed, false); // the long limit
  assert.equal(w.take(1000).allowed, false);
  assert.equal(w.take(60000).allowed, true); // the refusals did not count
});

test('the reported limit is the most restrictive one', () => {
  const w = new FixedWindows(limits([5, 1000], [2, 60000]));
  const first = w.take(0);
  assert.deepEqual(first, { allowed: true, limit: 2, remaining: 1, resetMs: 60000 });
  const second = w.take(10);
  assert.deepEqual(second, { allowed: true, limit: 2, remaining: 0, resetMs: 59990 });
  const refused = w.take(20);
  assert.equal(refused.allowed, false);
  assert.equal(refused.remaining, 0);
});

test('limits are validated with the field named', () => {
  assert.throws(() => parseLimits([], 'rateLimits'), ConfigError);
  assert.throws(() => parseLimits([{ maximumRequests: 0, timePeriodInMilliseconds: 10 }], 'rateLimits'),
    /rateLimits\[0\]\.maximumRequests/);
  assert.throws(() => parseLimits([{ maximumRequests: 1, timePeriodInMilliseconds: 'x' }], 'rateLimits'),
    /timePeriodInMilliseconds/);
  assert.deepEqual(parseLimits([{ maximumRequests: '3', timePeriodInMilliseconds: 1000 }], 'r'),
    [{ max: 3, periodMs: 1000 }]);
});
