'use strict';
// Reading client credentials from a request: the header named by a Mule expression such as
// #[attributes.headers['client_id']] (the only expression form ASM accepts: research §1.2), or
// an Authorization: Basic header. Comparison of secrets takes constant time.

const crypto = require('node:crypto');

class ConfigError extends Error {}

const HEADER_EXPRESSION = /^#\[\s*attributes\.headers\s*\[\s*(['"])([^'"\]]+)\1\s*\]\s*\]$/;
const HEADER_DOTTED = /^#\[\s*attributes\.headers\.([A-Za-z0-9_-]+)\s*\]$/;

// The lowercase header name an expression reads; `fallback` when the key is absent or empty.
function headerOf(config, key, fallback) {
  const raw = config[key];
  if (raw === undefined || raw === null || raw === '') return fallback;
  if (typeof raw !== 'string') {
    throw new ConfigError(`${key}: ${JSON.stringify(raw)} must be a header expression string`);
  }
  const m = HEADER_EXPRESSION.exec(raw.trim()) || HEADER_DOTTED.exec(raw.trim());
  if (!m) {
    throw new ConfigError(`${key}: ${JSON.stringify(raw)} is not supported; a service mesh`
      + " adapter reads credentials from headers: #[attributes.headers['name']]");
  }
  return m[m.length - 1].toLowerCase();
}

// {id, secret} from "Authorization: Basic base64(id:secret)", or null when the header is
// missing, another scheme, not base64, or has no colon.
function basicCredentials(headers) {
  const value = headers.authorization;
  if (typeof value !== 'string') return null;
  const m = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(value);
  if (!m || m[1].length % 4 === 1) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

function sameSecret(given, expected) {
  if (typeof given !== 'string' || typeof expected !== 'string') return false;
  const a = crypto.createHash('sha256').update(given, 'utf8').digest();
  const b = crypto.createHash('sha256').update(expected, 'utf8').digest();
  return crypto.timingSafeEqual(a, b);
}

module.exports = { ConfigError, headerOf, basicCredentials, sameSecret };
