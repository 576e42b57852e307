'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { StateCache } = require('../src/cache');
const { Engine } = require('../src/engine');
const { Syncer } = require('../src/sync');
const { CID, request, contracts } = require('./fixtures');

function quietLog() {
  const lines = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

const made = [];
function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-adapter-cache-'));
  made.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

function state() {
  return { apis: ['10001'], policies: new Map([['10001', [CID]]]),
    contracts: new Map([['10001', contracts([{ id: 7, status: 'APPROVED', application: { id: 1 } }])]]) };
}

test('a saved state loads back, in a file only its owner can read', () => {
  const dir = tempDir();
  new StateCache(dir, quietLog()).save(state());
  const file = path.join(dir, 'state.json');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const loaded = new StateCache(dir, quietLog()).load();
  assert.deepEqual(loaded.apis, ['10001']);
  assert.deepEqual(loaded.policies.get('10001'), [CID]);
  assert.equal(loaded.contracts.get('10001').get('mobile').clientSecret, 'm-secret');
});

test('an unchanged state is not written again', () => {
  const dir = tempDir();
  const cache = new StateCache(dir, quietLog());
  cache.save(state());
  const file = path.join(dir, 'state.json');
  fs.writeFileSync(file, 'changed behind its back');
  cache.save(state());
  assert.equal(fs.readFileSync(file, 'utf8'), 'changed behind its back');
});

test('no file, or one that is not ours, starts without a cache and says why', () => {
  const dir = tempDir();
  const log = quietLog();
  assert.equal(new StateCache(dir, log).load(), null);
  assert.deepEqual(log.lines, []); // no file: nothing to say
  for (const text of ['{', '[]', '{"format": 2}', '{"format": 1, "apis": [1], "policies": {}, "contracts": {}}',
    '{"format": 1, "apis": [], "policies": {}, "contracts": {"1": [{}]}}']) {
    fs.writeFileSync(path.join(dir, 'state.json'), text);
    assert.equal(new StateCache(dir, log).load(), null, text);
  }
  assert.equal(log.lines.length, 5);
  assert.match(log.lines[0], /not JSON .*; starting without it/);
  assert.match(log.lines[4], /a contract has no clientId/);
});

test('restored state is enforced at once; strict waits for a sync whatever is cached', () => {
  for (const gatekeeper of ['flexible', 'strict']) {
    const dir = tempDir();
    new StateCache(dir, quietLog()).save(state());
    const engine = new Engine({ gatekeeper, clock: () => 0 });
    const syncer = new Syncer({ platform: {}, engine, log: quietLog(),
      settings: { policiesInterval: 1, contractsInterval: 1 },
      cache: new StateCache(dir, quietLog()) });
    assert.equal(syncer.restore(), true);
    const credentials = { client_id: 'mobile', client_secret: 'm-secret' };
    const approved = engine.decide(request(credentials));
    const anonymous = engine.decide(request());
    if (gatekeeper === 'flexible') {
      assert.equal(approved.status, 200);
      assert.equal(anonymous.status, 401);
    } else {
      assert.equal(approved.status, 503);
      engine.setFailing('policies', false);
      engine.setFailing('contracts', false);
      assert.equal(engine.decide(request(credentials)).status, 200);
    }
  }
});
