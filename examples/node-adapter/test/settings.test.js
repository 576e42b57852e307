'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { parseSettings, SettingsError } = require('../src/settings');

const base = ['--grpc-port=5000', '--platform-url=http://127.0.0.1:1/', '--ingest-url=http://127.0.0.1:2',
  '--org-id=o', '--env-id=e', '--client-id=c'];
const env = { ANYPOINT_CLIENT_SECRET: 's' };

test('flags, defaults and the secret from the environment', () => {
  const s = parseSettings([...base, '--policies-interval', '0.2', '--gatekeeper=strict'], env);
  assert.equal(s.grpcPort, 5000);
  assert.equal(s.platformUrl, 'http://127.0.0.1:1');
  assert.equal(s.policiesInterval, 0.2);
  assert.equal(s.contractsInterval, 15);
  assert.equal(s.gatekeeper, 'strict');
  assert.equal(s.clientSecret, 's');
});

test('the secret is refused on the command line', () => {
  assert.throws(() => parseSettings([...base, '--client-secret=s'], env), /ANYPOINT_CLIENT_SECRET/);
  assert.throws(() => parseSettings(base, {}), /ANYPOINT_CLIENT_SECRET: not set/);
});

test('bad values name the flag and the fix', () => {
  assert.throws(() => parseSettings([...base, '--grpc-port=abc'], env), /--grpc-port: 'abc' is not a port/);
  assert.throws(() => parseSettings([...base, '--gatekeeper=open'], env), /strict, flexible, disabled/);
  assert.throws(() => parseSettings([...base, '--contracts-interval=-1'], env), /--contracts-interval/);
  assert.throws(() => parseSettings([...base, '--platform-url=ftp://x'], env), /http:\/\//);
  assert.throws(() => parseSettings([...base, '--nope=1'], env), SettingsError);
  assert.throws(() => parseSettings(base.slice(1), env), /--grpc-port: required/);
});

test('the client id may come from the environment', () => {
  const s = parseSettings(base.slice(0, -1), { ...env, ANYPOINT_CLIENT_ID: 'from-env' });
  assert.equal(s.clientId, 'from-env');
});

test('the analytics retry pace and the metrics port are flags', () => {
  const s = parseSettings([...base, '--analytics-retry-base=0.1', '--analytics-retry-max=0.2',
    '--metrics-port=9100'], env);
  assert.equal(s.analyticsRetryBase, 0.1);
  assert.equal(s.analyticsRetryMax, 0.2);
  assert.equal(s.metricsPort, 9100);
  assert.equal(parseSettings(base, env).metricsPort, null);
  assert.throws(() => parseSettings([...base, '--analytics-retry-max=0'], env), /--analytics-retry-max/);
});

test('the sync retry pace and the call deadline are flags; none keeps the default', () => {
  const s = parseSettings([...base, '--sync-backoff-base=0.2', '--sync-backoff-max=0.5',
    '--request-timeout=1'], env);
  assert.equal(s.syncBackoffBase, 0.2);
  assert.equal(s.syncBackoffMax, 0.5);
  assert.equal(s.requestTimeout, 1);
  const d = parseSettings([...base, '--sync-backoff-max=none'], env);
  assert.equal(d.syncBackoffMax, null);
  assert.equal(d.syncBackoffBase, 0.5);
  assert.equal(d.requestTimeout, null);
});

test('--state-dir: none (the kit\'s null placeholder) means no cache', () => {
  assert.equal(parseSettings(base, env).stateDir, null);
  assert.equal(parseSettings([...base, '--state-dir=none'], env).stateDir, null);
  assert.equal(parseSettings([...base, '--state-dir=/var/cache/x'], env).stateDir, '/var/cache/x');
});
