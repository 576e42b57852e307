'use strict';
// The two sync loops over the public endpoints. Policies: list the environment's APIs, then
// each API's applied policies. Contracts: list the organization's applications (for client
// secrets), then each API's contracts. A failed call leaves the engine's last good state in
// place (flexible gatekeeper); the engine also learns which loop is failing (strict). With a
// state cache, the last good reads are written after each sync and restored at start.

const { Loop } = require('./loop');
const { approvedContracts, applicationIndex, idValue } = require('./model');

const PARALLEL_CALLS = 8;
const MAX_APP_LOOKUPS = 100; // applications fetched one by one per contracts sync

class Syncer {
  constructor({ platform, engine, settings, log, cache = null }) {
    this.platform = platform;
    this.engine = engine;
    this.log = log;
    this.cache = cache;
    // the last good reads, as the cache holds them
    this.state = { apis: [], policies: new Map(), contracts: new Map() };
    this.closed = false;
    const pace = { log, backoffBaseS: settings.syncBackoffBase ?? 0.5,
      backoffMaxS: settings.syncBackoffMax ?? null };
    this.policies = new Loop('policies', settings.policiesInterval,
      () => this.syncPolicies(), pace);
    this.contracts = new Loop('contracts', settings.contractsInterval,
      () => this.syncContracts(), pace);
    this.policies.onResult = (ok) => this.engine.setFailing('policies', !ok);
    this.contracts.onResult = (ok) => this.engine.setFailing('contracts', !ok);
  }

  start() {
    this.policies.start(); // its first success starts the contracts loop
    // APIs restored from the cache have contracts to read whether or not the API list answers
    if (this.engine.apisKnown) this.contracts.start();
  }

  // Puts the cached state in the engine, before the first check. Until each loop has
  // succeeded once it counts as failing: strict mode answers 503 whatever is cached.
  restore() {
    const cached = this.cache && this.cache.load();
    if (!cached) return false;
    try {
      this.engine.setApis(cached.apis);
      for (const id of cached.apis) {
        if (cached.policies.has(id)) this.engine.setPolicies(id, cached.policies.get(id));
        if (cached.contracts.has(id)) this.engine.setContracts(id, cached.contracts.get(id));
      }
    } catch (err) {
      this.engine.forget();
      this.log.warn(`state cache not restored: ${err.message}; starting without it`);
      return false;
    }
    this.state = cached;
    this.engine.setFailing('policies', true);
    this.engine.setFailing('contracts', true);
    this.log.info(`restored ${cached.apis.length} API(s) from the state cache`);
    return true;
  }

  save() {
    if (!this.cache) return;
    try {
      this.cache.save(this.state);
    } catch (err) {
      this.log.warn(`state cache not written: ${err.message}`);
    }
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
    this.state.apis = ids;
    for (const id of removed) {
      this.state.policies.delete(id);
      this.state.contracts.delete(id);
    }
    if (first || added.length || removed.length) {
      this.log.info(`APIs to enforce: ${ids.length ? ids.join(', ') : 'none'}`
        + `${added.length && !first ? ` (new: ${added.join(', ')})` : ''}`
        + `${removed.length ? ` (gone: ${removed.join(', ')})` : ''}`);
    }
    const failures = await eachLimited(ids, async (id) => {
      const raw = await this.platform.listPolicies(id);
      this.engine.setPolicies(id, raw);
      this.state.policies.set(id, raw);
    });
    this.save();
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
      const approved = approvedContracts(raw, apps);
      this.engine.setContracts(id, approved);
      if (this.engine.apis.has(id)) this.state.contracts.set(id, approved);
    });
    this.save();
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
