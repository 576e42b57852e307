'use strict';
// rate-limiting-sla-based: the client's credentials must belong to an APPROVED contract
// (401 + WWW-Authenticate: Client-ID-Enforcement otherwise), and the limits of that contract's
// SLA tier apply per client id, in fixed windows (429 past them, and 429 when the tier has no
// limits). A tier whose limits change starts fresh windows.

const { ConfigError } = require('./credentials');
const { credentialReader, authenticate } = require('./client_id');
const { denial } = require('./denial');
const { FixedWindows, rateLimitHeaders } = require('./windows');

function create(policy, { clock }) {
  const config = policy.configuration;
  if (config.credentialsOriginHasHttpBasicAuthenticationHeader !== undefined
      && config.credentialsOriginHasHttpBasicAuthenticationHeader !== 'customExpression') {
    throw new ConfigError('credentialsOriginHasHttpBasicAuthenticationHeader: the SLA policy reads'
      + ' credentials from headers only (customExpression)');
  }
  const reader = credentialReader(config);
  const expose = config.exposeHeaders === true;
  const buckets = new Map(); // client id -> {fingerprint, windows}
  return {
    usesContracts: true,
    check(ctx, api) {
      const auth = authenticate(policy, reader, ctx, api.contracts);
      if (auth.denied) return auth.denied;
      const { contract } = auth;
      if (!contract.limits || contract.limits.length === 0) {
        return denial(policy, 429, 'no SLA tier limits for this contract');
      }
      let bucket = buckets.get(contract.clientId);
      if (!bucket || bucket.fingerprint !== contract.limitsFingerprint) {
        bucket = {
          fingerprint: contract.limitsFingerprint,
          windows: new FixedWindows(contract.limits),
        };
        buckets.set(contract.clientId, bucket);
      }
      const result = bucket.windows.take(clock());
      const headers = expose ? rateLimitHeaders(result) : {};
      if (!result.allowed) return denial(policy, 429, 'quota exceeded', headers);
      Object.assign(ctx.responseHeaders, headers);
      return null;
    },
    // Forget the buckets of clients that no longer hold a contract (bounds the map).
    prune(contracts) {
      for (const clientId of buckets.keys()) if (!contracts.has(clientId)) buckets.delete(clientId);
    },
  };
}

module.exports = { create };
