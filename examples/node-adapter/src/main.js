#!/usr/bin/env node
'use strict';
// The adapter process: reads its settings, serves ext_authz on the gRPC port at once (answering
// 503 until the first sync, as the flexible gatekeeper does), starts the sync loops and the
// analytics pusher, and on SIGTERM/SIGINT stops taking calls and flushes analytics.

const { performance } = require('node:perf_hooks');
const log = require('./log');
const { parseSettings, SettingsError } = require('./settings');
const { Engine } = require('./engine');
const { PlatformClient } = require('./platform');
const { Syncer } = require('./sync');
const { StateCache } = require('./cache');
const { startMetrics } = require('./metrics');
const { Analytics } = require('./analytics');
const { startServer, stopServer } = require('./grpc_face');
const { warmUp } = require('./http');

async function main() {
  let settings;
  try {
    settings = parseSettings(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    process.stderr.write(`node-adapter: ${err.message}\n`);
    process.exit(2);
  }
  const shortest = Math.min(settings.policiesInterval, settings.contractsInterval);
  const timeoutMs = settings.requestTimeout !== null ? settings.requestTimeout * 1000
    : Math.max(1000, Math.min(10000, 2000 * shortest));
  const platform = new PlatformClient(settings, { timeoutMs });
  const engine = new Engine({ gatekeeper: settings.gatekeeper, clock: () => performance.now() });
  const analytics = new Analytics({
    platform,
    batchSize: settings.analyticsBatchSize,
    intervalS: settings.analyticsInterval,
    capacity: settings.analyticsBuffer,
    retryBaseS: settings.analyticsRetryBase,
    retryMaxS: settings.analyticsRetryMax,
    log,
  });
  const cache = settings.stateDir ? new StateCache(settings.stateDir, log) : null;
  const syncer = new Syncer({ platform, engine, settings, log, cache });
  syncer.restore(); // before the first check: a restart during an outage serves the cache
  await warmUp();
  let server;
  try {
    ({ server } = await startServer({ engine, analytics, settings, log }, settings.host,
      settings.grpcPort));
    if (settings.metricsPort) await startMetrics(analytics, settings.host, settings.metricsPort);
  } catch (err) {
    log.error(err.message);
    process.exit(1);
  }
  log.info(`ext_authz gRPC on ${settings.host}:${settings.grpcPort};`
    + ` platform ${settings.platformUrl}, org ${settings.orgId}, env ${settings.envId},`
    + ` client ${settings.clientId}; policies every ${settings.policiesInterval}s,`
    + ` contracts every ${settings.contractsInterval}s,`
    + ` analytics every ${settings.analyticsInterval}s or ${settings.analyticsBatchSize} events;`
    + ` gatekeeper ${settings.gatekeeper}`);
  syncer.start();
  analytics.start();

  let stopping = false;
  async function shutdown(signal) {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping`);
    syncer.stop();
    await stopServer(server, 1000);
    await analytics.close(settings.flushTimeout * 1000);
    process.exit(0);
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

process.on('unhandledRejection', (err) => log.error(`unhandled: ${(err && err.stack) || err}`));
main();
