'use strict';
// The two sync loops over the public endpoints. Policies: list the environment's APIs, then
// each API's applied policies. Contracts: list the organization's applications (for client
// secrets), then each API's contracts. A failed call leaves the engine's last good state in
// place (flexible gatekeeper); the engine also learns which loop is failing (strict).

const { Loop } = require('./loop');
const { approvedContracts, applicationIndex, idValue } = require('./model');

const PARALLEL_CALLS = 8;
const MAX_APP_LOOKUPS = 100; // applications fetched one by one per contracts sync

class Syncer {
  constructor({ platform, engine, settings, log }) {
    this.platform = platform;
    this.engine = engine;
    this.log = log;
    this.closed = false;
    this.policies = new Loop('policies', settings.policiesInterval,
      () => this.syncPolicies(), { log });
    this.contracts = new Loop('contracts', settings.contractsInterval,
      () => this.syncContracts(), { log });
    this.policies.onResult = (ok) => this.engine.setFailing('policies', !ok);
    this.contracts.onResult = (ok) => this.engine.setFailing('contracts', !ok);
  }

  start() {
    this.policies.start(); // its first success starts the contracts loop
  }

  stop() {
    this.closed = true;
    this.policies.stop();
    this.contracts.stop();
  }

  async syncPolicies() {
    const apis = await this.platform.listApis();
    const ids = [];
    for (const api of apis) {
      const id = api && idValue(api.id);
      if (id !== null && id !== undefined) ids.push(String(id));
    }
    const first = !this.engine.apisKnown;
    const { added, removed } = this.engine.setApis(ids);
    if (first || added.length || removed.length) {
      this.log.info(`APIs to enforce: ${ids.length ? ids.join(', ') : 'none'}`
        + `${added.length && !first ? ` (new: ${added.join(', ')})` : ''}`
        + `${removed.length ? ` (gone: ${removed.join(', ')})` : ''}`);
    }
    const failures = await eachLimited(ids, async (id) => {
      this.engine.setPolicies(id, await this.platform.listPolicies(id));
    });
    if (this.closed) return;
    if (this.contracts.stopped) this.contracts.start();
    else if (added.length) this.contracts.kick(); // new APIs need their contracts soon
    if (failures.length) throw new Error(`policies of ${failures.length} API(s): ${failures[0]}`);
  }

  async syncContracts() {
    if (!this.engine.apisKnown) return;
    const apps = applicationIndex(await this.platform.listApplications());
    const ids = [...this.engine.apis.keys()];
    const lookups = { left: MAX_APP_LOOKUPS };
    const failures = await eachLimited(ids, async (id) => {
      const raw = await this.platform.listContracts(id);
      await this.fillMissingApps(raw, apps, lookups);
      this.engine.setContracts(id, approvedContracts(raw, apps));
    });
    if (failures.length) throw new Error(`contracts of ${failures.length} API(s): ${failures[0]}`);
  }

  // An application created after the list was read: fetch it by id (its secret is needed).
  async fillMissingApps(rawContracts, apps, lookups) {
    for (const c of rawContracts) {
      const appId = c && c.status === 'APPROVED' && c.application && c.application.id;
      if (appId === undefined || appId === null || appId === false || apps.has(String(appId))) {
        continue;
      }
      if (lookups.left-- <= 0) return;
      const one = applicationIndex([await this.platform.getApplication(appId)]);
      for (const [key, value] of one) apps.set(key, value);
    }
  }
}

// Runs fn over items, at most PARALLEL_CALLS at a time; returns the failure messages.
async function eachLimited(items, fn) {
  const failures = [];
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failures.push(`${item}: ${err.message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL_CALLS, items.length) }, worker));
  return failures;
}

module.exports = { Syncer };
