'use strict';
// client-id-enforcement: credentials of an APPROVED contract of this API, from headers
// (customExpression) or from Authorization: Basic (httpBasicAuthenticationHeader). A violation
// is a 401 with the WWW-Authenticate challenge of the mode (research §1.3).

const { ConfigError, headerOf, basicCredentials, sameSecret } = require('./credentials');
const { denial } = require('./denial');

const HEADER_CHALLENGE = 'Client-ID-Enforcement';
const BASIC_CHALLENGE = 'Basic realm="mule-realm"';

function credentialReader(config) {
  const origin = config.credentialsOriginHasHttpBasicAuthenticationHeader ?? 'customExpression';
  if (origin === 'httpBasicAuthenticationHeader') {
    return { challenge: BASIC_CHALLENGE, secretRequired: true, read: basicCredentials };
  }
  if (origin !== 'customExpression') {
    throw new ConfigError(`credentialsOriginHasHttpBasicAuthenticationHeader: `
      + `${JSON.stringify(origin)} is not supported; use customExpression or `
      + 'httpBasicAuthenticationHeader (query and payload origins are Mule-only)');
  }
  const idHeader = headerOf(config, 'clientIdExpression', 'client_id');
  const secretHeader = headerOf(config, 'clientSecretExpression', null);
  return {
    challenge: HEADER_CHALLENGE,
    secretRequired: secretHeader !== null,
    read(headers) {
      const id = headers[idHeader];
      if (typeof id !== 'string' || id === '') return null;
      if (secretHeader === null) return { id, secret: undefined };
      const secret = headers[secretHeader];
      if (typeof secret !== 'string' || secret === '') return null;
      return { id, secret };
    },
  };
}

// Checks credentials against the API's approved contracts; returns the contract or a denial.
function authenticate(policy, reader, ctx, contracts) {
  const deny = (error) => ({
    denied: denial(policy, 401, error, { 'www-authenticate': reader.challenge }),
  });
  const creds = reader.read(ctx.headers);
  if (!creds) return deny('missing client credentials');
  const contract = contracts.get(creds.id);
  if (!contract) return deny('invalid client credentials');
  if (reader.secretRequired && !sameSecret(creds.secret, contract.clientSecret)) {
    return deny('invalid client credentials');
  }
  ctx.clientId = creds.id;
  return { contract };
}

function create(policy) {
  const reader = credentialReader(policy.configuration);
  return {
    usesContracts: true,
    check(ctx, api) {
      return authenticate(policy, reader, ctx, api.contracts).denied || null;
    },
  };
}

module.exports = { create, credentialReader, authenticate };
