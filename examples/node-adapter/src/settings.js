'use strict';
// The adapter's settings: command-line flags, plus the connected app's secret from the
// environment (never from argv, where any local user could read it). Bad input is an error
// naming the flag, the value and the fix.

const USAGE = `usage: node src/main.js --grpc-port=PORT --platform-url=URL --ingest-url=URL
       --org-id=ID --env-id=ID [--client-id=ID] [options]

The connected app's secret is read from the environment variable ANYPOINT_CLIENT_SECRET
(the client id from --client-id or ANYPOINT_CLIENT_ID).

options (intervals in seconds):
  --host=ADDR                  address to listen on (default 127.0.0.1)
  --policies-interval=S        API list and policies poll (default 60)
  --contracts-interval=S       contracts and applications poll (default 15)
  --analytics-interval=S       analytics push (default 5)
  --analytics-batch-size=N     events per batch; a full batch is pushed at once (default 500)
  --analytics-buffer=N         events kept while the ingest is down (default 50000)
  --analytics-retry-base=S     first wait before a failed batch is posted again (default:
                               the analytics interval, at most 1)
  --analytics-retry-max=S      longest wait between retries (default 60)
  --sync-backoff-base=S        first wait before a failed sync is retried (default 0.5)
  --sync-backoff-max=S         longest wait between sync retries (default: the loop's interval)
  --request-timeout=S          deadline of one call to the platform (default: twice the
                               shorter sync interval, from 1 to 10)
  --gatekeeper=MODE            strict | flexible | disabled (default flexible)
  --adapter-id=NAME            host_id of analytics events (default node-adapter-<pid>)
  --flush-timeout=S            how long a stop waits for the last analytics (default 5)
  --metrics-port=PORT          serve Prometheus metrics (dropped analytics events) on
                               host:PORT/metrics (default: none)
  --state-dir=DIR              keep the last good policies and contracts there, and restore
                               them at start (default: none, no cache)`;

class SettingsError extends Error {}

const FLAGS = {
  'grpc-port': ['grpcPort', port],
  host: ['host', text],
  'platform-url': ['platformUrl', url],
  'ingest-url': ['ingestUrl', url],
  'org-id': ['orgId', text],
  'env-id': ['envId', text],
  'client-id': ['clientId', text],
  'policies-interval': ['policiesInterval', seconds],
  'contracts-interval': ['contractsInterval', seconds],
  'analytics-interval': ['analyticsInterval', seconds],
  'analytics-batch-size': ['analyticsBatchSize', count(1, 100000)],
  'analytics-buffer': ['analyticsBuffer', count(1, 10000000)],
  'analytics-retry-base': ['analyticsRetryBase', seconds],
  'analytics-retry-max': ['analyticsRetryMax', seconds],
  'sync-backoff-base': ['syncBackoffBase', seconds],
  'sync-backoff-max': ['syncBackoffMax', optional(seconds)],
  'request-timeout': ['requestTimeout', seconds],
  gatekeeper: ['gatekeeper', oneOf(['strict', 'flexible', 'disabled'])],
  'adapter-id': ['adapterId', text],
  'flush-timeout': ['flushTimeout', seconds],
  'state-dir': ['stateDir', directory],
  'metrics-port': ['metricsPort', port],
};

const DEFAULTS = {
  host: '127.0.0.1',
  policiesInterval: 60,
  contractsInterval: 15,
  analyticsInterval: 5,
  analyticsBatchSize: 500,
  analyticsBuffer: 50000,
  analyticsRetryBase: null,
  analyticsRetryMax: 60,
  syncBackoffBase: 0.5,
  syncBackoffMax: null,
  requestTimeout: null,
  gatekeeper: 'flexible',
  adapterId: `node-adapter-${process.pid}`,
  flushTimeout: 5,
  stateDir: null,
  metricsPort: null,
};

const REQUIRED = ['grpcPort', 'platformUrl', 'ingestUrl', 'orgId', 'envId', 'clientId'];

function parseSettings(argv, env) {
  const out = { ...DEFAULTS };
  if (env.ANYPOINT_CLIENT_ID) out.clientId = env.ANYPOINT_CLIENT_ID;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new SettingsError(USAGE);
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new SettingsError(`${arg}: not a flag; flags look like --name=value\n${USAGE}`);
    const [, name, inline] = m;
    if (name === 'client-secret') {
      throw new SettingsError(
        '--client-secret: secrets are not taken on the command line (other users can read it);'
        + ' set ANYPOINT_CLIENT_SECRET in the environment');
    }
    const spec = FLAGS[name];
    if (!spec) throw new SettingsError(`--${name}: unknown flag\n${USAGE}`);
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new SettingsError(`--${name}: needs a value`);
      value = argv[++i];
    }
    out[spec[0]] = spec[1](`--${name}`, value);
  }
  const secret = env.ANYPOINT_CLIENT_SECRET;
  if (!secret) {
    throw new SettingsError(
      'ANYPOINT_CLIENT_SECRET: not set; put the connected app\'s secret in this'
      + ' environment variable');
  }
  out.clientSecret = secret;
  const flagOf = Object.fromEntries(Object.entries(FLAGS).map(([f, [k]]) => [k, f]));
  for (const key of REQUIRED) {
    if (out[key] === undefined) {
      const extra = key === 'clientId' ? ' (or ANYPOINT_CLIENT_ID)' : '';
      throw new SettingsError(`--${flagOf[key]}: required${extra}\n${USAGE}`);
    }
  }
  return Object.freeze(out);
}

function text(flag, value) {
  if (value.trim() === '') throw new SettingsError(`${flag}: must not be empty`);
  return value;
}

// A directory, or none (the kit's null placeholder renders as 'none'): no state cache.
function directory(flag, value) {
  if (value === '' || value === 'none') return null;
  if (value.includes('\0')) throw new SettingsError(`${flag}: must not contain a NUL byte`);
  return value;
}

function port(flag, value) {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
    throw new SettingsError(`${flag}: '${value}' is not a port number (1-65535)`);
  }
  return n;
}

function url(flag, value) {
  let parsed;
  try {
    parsed = new URL(value);
  } catch {
    throw new SettingsError(`${flag}: '${value}' is not a URL; e.g. https://anypoint.mulesoft.com`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SettingsError(`${flag}: '${value}' must be an http:// or https:// URL`);
  }
  return value.replace(/\/+$/, '');
}

function seconds(flag, value) {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 86400) {
    throw new SettingsError(`${flag}: '${value}' must be a number of seconds in (0, 86400]`);
  }
  return n;
}

function count(min, max) {
  return (flag, value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new SettingsError(`${flag}: '${value}' must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

// A value, or none (the kit's null placeholder renders as 'none'): the default.
function optional(parse) {
  return (flag, value) => (value === 'none' ? null : parse(flag, value));
}

function oneOf(choices) {
  return (flag, value) => {
    if (!choices.includes(value)) {
      throw new SettingsError(`${flag}: '${value}' must be one of ${choices.join(', ')}`);
    }
    return value;
  };
}

module.exports = { parseSettings, SettingsError, USAGE };
