'use strict';
// The policies this adapter implements, by Exchange asset id. Any other policy applied to an
// API is a configuration error that keeps the API at 503 (never silently skipped).

const { ConfigError } = require('./credentials');

const FACTORIES = {
  'client-id-enforcement': require('./client_id').create,
  'rate-limiting': require('./rate_limiting').create,
  'rate-limiting-sla-based': require('./sla').create,
};

function buildPolicy(policy, deps) {
  const factory = FACTORIES[policy.assetId];
  if (!factory) {
    throw new ConfigError(`policy ${policy.policyId} (${policy.assetId}) is not implemented by`
      + ' this adapter');
  }
  return factory(policy, deps);
}

module.exports = { buildPolicy, IMPLEMENTED: Object.keys(FACTORIES) };
