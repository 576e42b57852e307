'use strict';
// The decision engine: what the adapter knows (APIs, their policy chains, their approved
// contracts) and the answer to one request, gatekeeper first, then the API's policies in
// order. No I/O; the clock is injected.

const { buildPolicy } = require('./policies');
const { ConfigError } = require('./policies/credentials');
const { readPolicy, pointcutMatches } = require('./model');

const GATEKEEPER_MODES = ['strict', 'flexible', 'disabled'];

const PASS = Symbol('pass');

function allow() {
  return { allowed: true, status: 200, error: null, headers: {}, violation: null };
}

function refusal(status, error) {
  return { allowed: false, status, error, headers: {}, violation: null };
}

class Engine {
  constructor({ gatekeeper = 'flexible', clock }) {
    if (!GATEKEEPER_MODES.includes(gatekeeper)) throw new Error(`gatekeeper: ${gatekeeper}`);
    this.gatekeeper = gatekeeper;
    this.clock = clock;
    this.apisKnown = false;
    this.apis = new Map(); // api id (string) -> ApiState
    this.failing = { policies: false, contracts: false };
  }

  // -- what the sync loops tell it ----------------------------------------------------------

  // The API instances to enforce; APIs no longer listed are forgotten. Returns {added, removed}.
  setApis(ids) {
    const wanted = new Set(ids.map(String));
    const removed = [...this.apis.keys()].filter((id) => !wanted.has(id));
    for (const id of removed) this.apis.delete(id);
    const added = [];
    for (const id of wanted) {
      if (!this.apis.has(id)) {
        this.apis.set(id, { id, chain: null, configError: null, contracts: new Map(),
          contractsLoaded: false });
        added.push(id);
      }
    }
    this.apisKnown = true;
    return { added, removed };
  }

  // A fresh list of applied policies for one API. A policy whose template and configuration
  // are unchanged keeps its instance (and so its rate-limit windows).
  setPolicies(apiId, rawPolicies) {
    const api = this.apis.get(String(apiId));
    if (!api) return;
    const previous = new Map((api.chain || []).map((p) => [p.policyId, p]));
    const chain = [];
    const errors = [];
    rawPolicies.forEach((raw, i) => {
      try {
        const spec = readPolicy(raw, i);
        if (spec.disabled) return;
        const old = previous.get(spec.policyId);
        const impl = old && old.fingerprint === spec.fingerprint
          ? old.impl : buildPolicy(spec, { clock: this.clock });
        chain.push({ ...spec, impl });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        errors.push(err.message);
      }
    });
    chain.sort((a, b) => a.order - b.order || String(a.policyId).localeCompare(String(b.policyId)));
    api.chain = chain;
    api.configError = errors.length ? errors.join('; ') : null;
  }

  setContracts(apiId, contracts) {
    const api = this.apis.get(String(apiId));
    if (!api) return;
    api.contracts = contracts;
    api.contractsLoaded = true;
    for (const p of api.chain || []) if (p.impl.prune) p.impl.prune(contracts);
  }

  // Back to knowing nothing (a state cache that could not be restored).
  forget() {
    this.apis = new Map();
    this.apisKnown = false;
  }

  setFailing(loop, failing) {
    this.failing[loop] = failing;
  }

  // -- one request --------------------------------------------------------------------------

  // ctx: {apiId, method, path (no query), headers (lowercase keys)}; the engine sets
  // ctx.clientId and fills ctx.responseHeaders. Returns {allowed, status, error, headers,
  // violation}.
  decide(ctx) {
    const gate = this.gate(ctx);
    if (gate === PASS) return allow();
    if (gate) return gate;
    const api = this.apis.get(String(ctx.apiId));
    for (const policy of api ? api.chain || [] : []) {
      if (!pointcutMatches(policy.pointcut, ctx.method, ctx.path)) continue;
      const denied = policy.impl.check(ctx, api);
      if (denied) return { allowed: false, ...denied };
    }
    return allow();
  }

  // The gatekeeper and the API lookup: a refusal, PASS (let through without policies), or
  // undefined (run the API's chain).
  gate(ctx) {
    const disabled = this.gatekeeper === 'disabled';
    if (!this.apisKnown) {
      return disabled ? PASS : refusal(503, 'API not ready: the API list was never loaded');
    }
    if (this.gatekeeper === 'strict' && (this.failing.policies || this.failing.contracts)) {
      return refusal(503, 'control plane unreachable (gatekeeper strict)');
    }
    const api = ctx.apiId === undefined ? undefined : this.apis.get(String(ctx.apiId));
    if (!api) return refusal(403, 'unknown API');
    if (api.configError) return refusal(503, `policy configuration error: ${api.configError}`);
    if (api.chain === null) {
      return disabled ? PASS : refusal(503, 'API not ready: its policies were never loaded');
    }
    if (!disabled && !api.contractsLoaded && api.chain.some((p) => p.impl.usesContracts)) {
      return refusal(503, 'API not ready: its contracts were never loaded');
    }
    return undefined;
  }
}

module.exports = { Engine, GATEKEEPER_MODES };
