'use strict';
// rate-limiting: one bucket per API (the ASM variant has no sub-bucketing: research §1.2),
// fixed windows, several limits ANDed, 429 past the quota; X-Ratelimit-* only with
// exposeHeaders. Each adapter process counts alone (no shared store), whatever clusterizable.

const { ConfigError } = require('./credentials');
const { denial } = require('./denial');
const { FixedWindows, parseLimits, rateLimitHeaders } = require('./windows');

function create(policy, { clock }) {
  const config = policy.configuration;
  const limits = parseLimits(config.rateLimits, 'rateLimits');
  const key = config.keySelector;
  if (key !== undefined && key !== null && key !== '') {
    throw new ConfigError(`keySelector: ${JSON.stringify(key)} is not supported; the service mesh`
      + ' rate-limiting policy keeps a single bucket per API');
  }
  const expose = config.exposeHeaders === true;
  const windows = new FixedWindows(limits);
  return {
    usesContracts: false,
    check(ctx) {
      const result = windows.take(clock());
      const headers = expose ? rateLimitHeaders(result) : {};
      if (!result.allowed) return denial(policy, 429, 'quota exceeded', headers);
      Object.assign(ctx.responseHeaders, headers);
      return null;
    },
  };
}

module.exports = { create };
