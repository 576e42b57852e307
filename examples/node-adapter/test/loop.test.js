'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Loop } = require('../src/loop');

test('a failed loop backs off from its base, doubling, up to its maximum', () => {
  const loop = new Loop('policies', 10, async () => {}, { log: null, random: () => 0.5,
    backoffBaseS: 0.2, backoffMaxS: 0.5 });
  const waits = [1, 2, 3, 4].map((k) => { loop.failures = k; return loop.backoffMs(); });
  assert.deepEqual(waits.map(Math.round), [200, 400, 500, 500]);
  const plain = new Loop('contracts', 1, async () => {}, { log: null, random: () => 0.5 });
  plain.failures = 5;
  assert.equal(Math.round(plain.backoffMs()), 1000); // never longer than the interval
});
