'use strict';
// The data-plane face: Envoy's ext_authz v3 gRPC service. A CheckRequest becomes a request
// context, the engine decides, and the decision becomes a CheckResponse: OK with an
// ok_response, or a non-OK code with a denied_response carrying the HTTP status, headers and a
// JSON body {"error": ...}. Every decision is recorded for analytics. An internal error is a
// deny with 500, never an RPC error.

const crypto = require('node:crypto');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO = path.join(__dirname, '..', 'proto', 'ext_authz.proto');
const GRPC_CODE = { 400: 3, 401: 16, 403: 7, 429: 8, 500: 13, 503: 14 };
const OVERWRITE_IF_EXISTS_OR_ADD = 2;
const MAX_HEADER_VALUE = 256 * 1024;

function loadService() {
  const definition = protoLoader.loadSync(PROTO, {
    keepCase: true, longs: Number, enums: Number, defaults: false, oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).envoy.service.auth.v3.Authorization.service;
}

// Headers as one lowercase-keyed object: the headers map, or header_map when Envoy sends raw
// headers (duplicates joined with a comma, as Envoy joins them in the map).
function headersOf(http) {
  const out = Object.create(null);
  const map = http.headers || {};
  for (const key of Object.keys(map)) out[key.toLowerCase()] = String(map[key]);
  const raw = http.header_map && http.header_map.headers;
  if (Object.keys(out).length === 0 && Array.isArray(raw)) {
    for (const h of raw) {
      const key = String(h.key || '').toLowerCase();
      const value = h.raw_value && h.raw_value.length
        ? Buffer.from(h.raw_value).toString('utf8') : String(h.value || '');
      out[key] = key in out ? `${out[key]},${value}` : value;
    }
  }
  return out;
}

function contextOf(request) {
  const attrs = (request && request.attributes) || {};
  const http = (attrs.request && attrs.request.http) || {};
  const headers = headersOf(http);
  const fullPath = http.path || headers[':path'] || '/';
  const time = attrs.request && attrs.request.time;
  const received = time && time.seconds
    ? new Date(Number(time.seconds) * 1000 + Math.floor(Number(time.nanos || 0) / 1e6))
    : new Date();
  const source = attrs.source && attrs.source.address && attrs.source.address.socket_address;
  const extensions = attrs.context_extensions || {};
  return {
    apiId: extensions.api_id,
    method: http.method || headers[':method'] || '',
    path: fullPath.split('?')[0],
    headers,
    clientIp: (source && source.address) || null,
    size: Number(http.size) || 0,
    receivedTs: received.toISOString(),
    clientId: null,
    responseHeaders: {},
  };
}

function headerOptions(headers, appendAction) {
  return Object.entries(headers).map(([key, value]) => {
    const option = { header: { key, value: String(value).slice(0, MAX_HEADER_VALUE) } };
    if (appendAction !== undefined) option.append_action = appendAction;
    return option;
  });
}

function responseOf(decision, ctx) {
  if (decision.allowed) {
    const ok = {};
    if (Object.keys(ctx.responseHeaders).length) {
      ok.response_headers_to_add = headerOptions(ctx.responseHeaders, OVERWRITE_IF_EXISTS_OR_ADD);
    }
    return { status: { code: 0 }, ok_response: ok };
  }
  const headers = { 'content-type': 'application/json', ...decision.headers };
  return {
    status: { code: GRPC_CODE[decision.status] ?? 2, message: decision.error },
    denied_response: {
      status: { code: decision.status },
      headers: headerOptions(headers),
      body: decision.body,
    },
  };
}

function eventOf(ctx, decision, settings) {
  const agent = ctx.headers['user-agent'];
  const requestId = ctx.headers['x-request-id'];
  return {
    event_id: crypto.randomUUID(),
    transaction_id: requestId === undefined ? null : requestId,
    api_id: ctx.apiId === undefined ? null : String(ctx.apiId),
    api_version_id: ctx.apiId === undefined ? null : String(ctx.apiId),
    org_id: settings.orgId,
    host_id: settings.adapterId,
    client_id: ctx.clientId,
    received_ts: ctx.receivedTs,
    replied_ts: new Date().toISOString(),
    client_ip: ctx.clientIp,
    verb: ctx.method,
    path: ctx.path,
    status_code: decision.status,
    user_agent: agent === undefined ? null : agent,
    request_bytes: ctx.size,
    response_bytes: decision.allowed ? 0 : Buffer.byteLength(decision.body, 'utf8'),
    request_disposition: decision.allowed ? 'processed' : 'blocked',
    policy_violation: decision.violation,
  };
}

function makeCheck({ engine, analytics, settings, log }) {
  return function check(call, callback) {
    let ctx = null;
    let decision;
    try {
      ctx = contextOf(call.request);
      decision = engine.decide(ctx);
    } catch (err) {
      log.error(`check failed: ${err.stack || err}`);
      decision = { allowed: false, status: 500, error: 'internal adapter error', headers: {},
        violation: null };
    }
    if (!decision.allowed) decision.body = JSON.stringify({ error: decision.error });
    callback(null, responseOf(decision, ctx || { responseHeaders: {} }));
    if (ctx) {
      try {
        analytics.record(eventOf(ctx, decision, settings));
      } catch (err) {
        log.error(`analytics event failed: ${err.message}`);
      }
    }
  };
}

// Starts the server; resolves to {server, port} once it listens.
function startServer(deps, host, port) {
  const server = new grpc.Server();
  server.addService(loadService(), { Check: makeCheck(deps) });
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`));
      else resolve({ server, port: bound });
    });
  });
}

// Stops taking calls, waiting up to `timeoutMs` for calls in progress.
function stopServer(server, timeoutMs) {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

module.exports = { startServer, stopServer, contextOf, responseOf, eventOf, loadService };
