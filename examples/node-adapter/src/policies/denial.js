'use strict';
// A policy's refusal: the HTTP status, the JSON error message, extra headers for the client,
// and the policy to name in analytics.

function denial(policy, status, error, headers = {}) {
  return {
    status,
    error,
    headers,
    violation: { policy_id: policy.policyId, policy_name: policy.assetId },
  };
}

module.exports = { denial };
