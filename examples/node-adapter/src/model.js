'use strict';
// Turning API Manager v1 answers into the adapter's own records: applied policies (the CLI's
// fullInfo=false items or the {policies} envelope items, research §2.2) and APPROVED contracts
// joined with their application's credentials (§2.2, §2.3).

const { ConfigError } = require('./policies/credentials');
const { parseLimits } = require('./policies/windows');

// {policyId, assetId, configuration, order, disabled, pointcut, fingerprint}; throws ConfigError.
function readPolicy(raw, index) {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`policies[${index}]: not an object`);
  }
  const policyId = idValue(raw.id ?? raw.policyId);
  if (policyId === null) throw new ConfigError(`policies[${index}]: no id`);
  const template = raw.template && typeof raw.template === 'object' ? raw.template : {};
  const assetId = raw.assetId ?? template.assetId;
  if (typeof assetId !== 'string' || assetId === '') {
    throw new ConfigError(`policy ${policyId}: no assetId (which policy it is)`);
  }
  const configuration = raw.configurationData ?? raw.configuration ?? {};
  if (typeof configuration !== 'object' || Array.isArray(configuration)) {
    throw new ConfigError(`policy ${policyId} (${assetId}): configurationData is not an object`);
  }
  const order = Number.isFinite(Number(raw.order)) && raw.order !== null
    ? Number(raw.order) : Number.MAX_SAFE_INTEGER;
  return {
    policyId,
    assetId,
    configuration,
    order,
    disabled: raw.disabled === true,
    pointcut: readPointcut(raw.pointcutData, policyId),
    fingerprint: `${assetId}\u0000${stableJson(configuration)}`,
  };
}

// null (every request) or [{method, uri}] compiled as full matches.
function readPointcut(value, policyId) {
  if (value === null || value === undefined) return null;
  const entries = Array.isArray(value) ? value : [value];
  if (entries.length === 0) return null;
  return entries.map((entry, i) => {
    const where = `policy ${policyId}: pointcutData[${i}]`;
    if (!entry || typeof entry !== 'object') throw new ConfigError(`${where}: not an object`);
    return {
      method: fullMatch(entry.methodRegex, `${where}.methodRegex`),
      uri: fullMatch(entry.uriTemplateRegex, `${where}.uriTemplateRegex`),
    };
  });
}

function fullMatch(source, where) {
  if (source === undefined || source === null || source === '') return /^[\s\S]*$/;
  if (typeof source !== 'string' || source.length > 2000) {
    throw new ConfigError(`${where}: must be a regular expression string`);
  }
  try {
    return new RegExp(`^(?:${source})$`, 's');
  } catch (err) {
    throw new ConfigError(`${where}: ${JSON.stringify(source)} is not a valid regex`
      + ` (${err.message})`);
  }
}

function pointcutMatches(pointcut, method, path) {
  if (pointcut === null) return true;
  return pointcut.some((p) => p.method.test(method) && p.uri.test(path));
}

// Map client id -> {contractId, clientId, clientSecret, limits, limitsFingerprint} of the
// APPROVED contracts; `apps` maps application id -> {clientId, clientSecret}.
function approvedContracts(rawContracts, apps) {
  const out = new Map();
  for (const raw of rawContracts) {
    if (!raw || typeof raw !== 'object' || raw.status !== 'APPROVED') continue;
    const application = raw.application && typeof raw.application === 'object'
      ? raw.application : {};
    const app = apps.get(String(application.id));
    const clientId = application.coreServicesId ?? (app && app.clientId);
    if (typeof clientId !== 'string' || clientId === '') continue;
    const limits = tierLimits(raw.tier);
    out.set(clientId, {
      contractId: idValue(raw.id),
      clientId,
      clientSecret: app && app.clientId === clientId ? app.clientSecret : undefined,
      limits,
      limitsFingerprint: stableJson(limits),
    });
  }
  return out;
}

function tierLimits(tier) {
  if (!tier || typeof tier !== 'object' || !Array.isArray(tier.limits)) return [];
  try {
    return tier.limits.length ? parseLimits(tier.limits, 'tier.limits') : [];
  } catch {
    return []; // a tier without usable limits grants no quota (the SLA policy answers 429)
  }
}

// Application id (string) -> {clientId, clientSecret}, from the repository's application items.
function applicationIndex(rawApps) {
  const out = new Map();
  for (const raw of rawApps) {
    if (!raw || typeof raw !== 'object' || raw.id === undefined || raw.id === null) continue;
    const clientId = raw.clientId ?? raw.coreServicesId;
    if (typeof clientId !== 'string') continue;
    out.set(String(raw.id), { clientId, clientSecret: raw.clientSecret });
  }
  return out;
}

// Ids as the platform sends them: numbers stay numbers, digit strings become numbers.
function idValue(value) {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  if (typeof value === 'string' && value !== '') return value;
  return null;
}

function stableJson(value) {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

module.exports = {
  readPolicy, pointcutMatches, approvedContracts, applicationIndex, idValue, stableJson,
};
