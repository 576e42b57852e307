'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Engine } = require('../src/engine');
const { CID, RL, request, contracts } = require('./fixtures');

function setup(gatekeeper = 'flexible') {
  let now = 0;
  const engine = new Engine({ gatekeeper, clock: () => now });
  return { engine, advance: (ms) => { now += ms; } };
}

test('flexible: 503 until the API list, its policies and (for client id) its contracts', () => {
  const { engine } = setup();
  assert.equal(engine.decide(request()).status, 503);
  engine.setApis(['10001']);
  assert.equal(engine.decide(request()).status, 503);
  engine.setPolicies('10001', [CID]);
  assert.match(engine.decide(request()).error, /contracts/);
  engine.setContracts('10001', contracts([]));
  assert.equal(engine.decide(request()).status, 401);
  assert.equal(engine.decide(request({}, { apiId: '999' })).status, 403);
  assert.equal(engine.decide(request({}, { apiId: undefined })).status, 403);
});

test('disabled: a listed API is served before its policies arrive', () => {
  const { engine } = setup('disabled');
  assert.equal(engine.decide(request()).allowed, true);
  engine.setApis(['10001']);
  assert.equal(engine.decide(request()).allowed, true);
  engine.setPolicies('10001', [CID]);
  assert.equal(engine.decide(request({ client_id: 'mobile', client_secret: 'm-secret' })).status, 401);
});

test('strict: 503 while a sync loop fails, flexible keeps enforcing', () => {
  for (const [mode, status] of [['strict', 503], ['flexible', 200]]) {
    const { engine } = setup(mode);
    engine.setApis(['10001']);
    engine.setPolicies('10001', []);
    engine.setFailing('contracts', true);
    assert.equal(engine.decide(request()).status, status, mode);
    engine.setFailing('contracts', false);
    assert.equal(engine.decide(request()).status, 200, mode);
  }
});

test('only approved contracts of this API grant access, with the right secret', () => {
  const { engine } = setup();
  engine.setApis(['10001']);
  engine.setPolicies('10001', [CID]);
  engine.setContracts('10001', contracts([
    { id: 7, status: 'APPROVED', application: { id: 1, coreServicesId: 'mobile' } },
    { id: 8, status: 'REVOKED', application: { id: 2, coreServicesId: 'web' } },
  ]));
  const ok = request({ client_id: 'mobile', client_secret: 'm-secret' });
  assert.equal(engine.decide(ok).allowed, true);
  assert.equal(ok.clientId, 'mobile');
  const wrong = engine.decide(request({ client_id: 'mobile', client_secret: 'nope' }));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers['www-authenticate'], 'Client-ID-Enforcement');
  assert.deepEqual(wrong.violation, { policy_id: 501, policy_name: 'client-id-enforcement' });
  assert.equal(engine.decide(request({ client_id: 'web', client_secret: 'w-secret' })).status, 401);
  assert.equal(engine.decide(request({ client_secret: 'm-secret' })).error, 'missing client credentials');
});

test('policies run in order: a client-id refusal does not use rate-limit quota', () => {
  const { engine } = setup();
  engine.setApis(['10001']);
  engine.setPolicies('10001', [RL, CID]);
  engine.setContracts('10001', contracts([{ id: 7, status: 'APPROVED', application: { id: 1, coreServicesId: 'mobile' } }]));
  for (let i = 0; i < 5; i++) assert.equal(engine.decide(request()).status, 401);
  const ok = { client_id: 'mobile', client_secret: 'm-secret' };
  assert.equal(engine.decide(request(ok)).status, 200);
  assert.equal(engine.decide(request(ok)).status, 200);
  const limited = engine.decide(request(ok));
  assert.equal(limited.status, 429);
  assert.equal(limited.violation.policy_name, 'rate-limiting');
});

test('an unchanged policy keeps its windows across a re-sync; an edited one starts afresh', () => {
  const { engine } = setup();
  engine.setApis(['10001']);
  engine.setPolicies('10001', [RL]);
  engine.decide(request());
  engine.decide(request());
  assert.equal(engine.decide(request()).status, 429);
  engine.setPolicies('10001', [{ ...RL, order: 3 }]);
  assert.equal(engine.decide(request()).status, 429);
  const edited = { ...RL, configurationData: { rateLimits: [{ maximumRequests: 3, timePeriodInMilliseconds: 1000 }] } };
  engine.setPolicies('10001', [edited]);
  assert.equal(engine.decide(request()).status, 200);
});

test('a policy the adapter cannot configure keeps the API at 503 until it is removed', () => {
  const { engine } = setup('disabled');
  engine.setApis(['10001']);
  const bad = { ...CID, configurationData: { credentialsOriginHasHttpBasicAuthenticationHeader: 'queryParameters' } };
  engine.setPolicies('10001', [bad]);
  assert.match(engine.decide(request()).error, /^policy configuration error: .*queryParameters/);
  engine.setPolicies('10001', [{ id: 9, assetId: 'jwt-validation', configurationData: {} }]);
  assert.match(engine.decide(request()).error, /not implemented/);
  engine.setPolicies('10001', []);
  assert.equal(engine.decide(request()).allowed, true);
});

test('disabled policies are skipped and pointcuts limit a policy', () => {
  const { engine } = setup();
  engine.setApis(['10001']);
  engine.setContracts('10001', contracts([]));
  engine.setPolicies('10001', [{ ...CID, disabled: true }]);
  assert.equal(engine.decide(request()).allowed, true);
  engine.setPolicies('10001', [{ ...CID, pointcutData: [{ methodRegex: 'POST|DELETE', uriTemplateRegex: '/orders.*' }] }]);
  assert.equal(engine.decide(request()).allowed, true);
  assert.equal(engine.decide(request({}, { method: 'POST', path: '/health' })).allowed, true);
  assert.equal(engine.decide(request({}, { method: 'POST', path: '/orders/1' })).status, 401);
  assert.equal(engine.decide(request({}, { method: 'XPOST', path: '/orders/1' })).allowed, true);
});

test('SLA tiers: per-client quota from the contract, fresh windows when the tier changes', () => {
  const { engine } = setup();
  const sla = { id: 601, assetId: 'rate-limiting-sla-based', order: 1,
    configurationData: { clientIdExpression: "#[attributes.headers['client_id']]" } };
  const tier = (max) => ({ id: 3, name: 'gold', limits: [{ maximumRequests: max, timePeriodInMilliseconds: 60000, visible: true }] });
  engine.setApis(['10001']);
  engine.setPolicies('10001', [sla]);
  engine.setContracts('10001', contracts([
    { id: 7, status: 'APPROVED', application: { id: 1, coreServicesId: 'mobile' }, tier: tier(1) },
    { id: 8, status: 'APPROVED', application: { id: 2, coreServicesId: 'web' }, tier: null },
  ]));
  assert.equal(engine.decide(request({ client_id: 'mobile' })).status, 200);
  assert.equal(engine.decide(request({ client_id: 'mobile' })).status, 429);
  assert.equal(engine.decide(request({ client_id: 'web' })).status, 429); // no tier limits
  assert.equal(engine.decide(request({ client_id: 'nobody' })).status, 401);
  engine.setContracts('10001', contracts([
    { id: 7, status: 'APPROVED', application: { id: 1, coreServicesId: 'mobile' }, tier: tier(1) }]));
  assert.equal(engine.decide(request({ client_id: 'mobile' })).status, 429); // same tier: same window
  engine.setContracts('10001', contracts([
    { id: 7, status: 'APPROVED', application: { id: 1, coreServicesId: 'mobile' }, tier: tier(5) }]));
  assert.equal(engine.decide(request({ client_id: 'mobile' })).status, 200);
});
