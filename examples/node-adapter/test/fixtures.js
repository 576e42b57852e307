'use strict';
// Policies, contracts and requests shared by the unit tests (no tests of its own).
const { approvedContracts, applicationIndex } = require('../src/model');

const CID = {
  id: 501, assetId: 'client-id-enforcement', order: 1, disabled: false, pointcutData: null,
  configurationData: {
    credentialsOriginHasHttpBasicAuthenticationHeader: 'customExpression',
    clientIdExpression: "#[attributes.headers['client_id']]",
    clientSecretExpression: "#[attributes.headers['client_secret']]",
  },
};
const RL = {
  id: 502, assetId: 'rate-limiting', order: 2, disabled: false,
  configurationData: { rateLimits: [{ maximumRequests: 2, timePeriodInMilliseconds: 1000 }] },
};

function request(headers = {}, extra = {}) {
  return { apiId: '10001', method: 'GET', path: '/orders', headers, clientId: null,
    responseHeaders: {}, ...extra };
}

function contracts(list) {
  const apps = applicationIndex([{ id: 1, clientId: 'mobile', clientSecret: 'm-secret' },
    { id: 2, clientId: 'web', clientSecret: 'w-secret' }]);
  return approvedContracts(list, apps);
}

module.exports = { CID, RL, request, contracts };
