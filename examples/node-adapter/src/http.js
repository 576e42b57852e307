'use strict';
// HTTP calls to the control plane: Node's built-in fetch with a deadline and a cap on the
// answer's size, so a slow or runaway server can neither hang a sync nor exhaust memory.

const MAX_BODY_BYTES = 32 * 1024 * 1024;

class HttpError extends Error {
  // status: the HTTP status, or 0 when no answer arrived (refused, reset, timeout, too big).
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// `abort`: an AbortSignal that ends the call early (a stop), beside the deadline.
async function request(url,
  { method = 'GET', headers = {}, body, timeoutMs = 5000, abort = null } = {}) {
  let response;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = abort ? AbortSignal.any([deadline, abort]) : deadline;
  try {
    response = await fetch(url, { method, headers, body, signal });
  } catch (err) {
    throw new HttpError(`${method} ${pathOf(url)}: no answer (${describe(err)})`, 0);
  }
  let text;
  try {
    text = await readBounded(response);
  } catch (err) {
    throw new HttpError(`${method} ${pathOf(url)}: answer cut short (${describe(err)})`, 0);
  }
  return { status: response.status, headers: response.headers, text };
}

async function readBounded(response) {
  const declared = Number(response.headers.get('content-length'));
  if (declared > MAX_BODY_BYTES) throw new Error(`body of ${declared} bytes is over the limit`);
  if (!response.body) return '';
  const chunks = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// Node loads its fetch implementation (undici) on first use, which blocks the event loop for
// 60-80 ms on an idle machine and far longer under load. Done before the ext_authz port opens,
// it cannot delay the first Check calls past Envoy's 200 ms timeout.
async function warmUp() {
  await (await fetch('data:,')).text();
}

function describe(err) {
  if (err && err.name === 'TimeoutError') return 'timed out';
  const cause = err && err.cause;
  return (cause && (cause.code || cause.message)) || (err && err.message) || String(err);
}

function pathOf(url) {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

module.exports = { request, HttpError, pathOf, warmUp };
