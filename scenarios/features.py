"""The features a scenario can exercise and an adapter can claim: the shared vocabulary of
scenario files, adapter profiles and conformance profiles."""

from __future__ import annotations

from enum import StrEnum


class Feature(StrEnum):
    """Everything a scenario can exercise."""

    CLIENT_ID_ENFORCEMENT = "client-id-enforcement"
    RATE_LIMITING = "rate-limiting"
    RATE_LIMITING_SLA = "rate-limiting-sla-based"
    JWT_VALIDATION = "jwt-validation"
    HTTP_BASIC_AUTH = "http-basic-authentication"
    LDAP_AUTH = "ldap-authentication"
    POLICY_SYNC = "policy-sync"
    CONTRACT_SYNC = "contract-sync"
    GATEKEEPER = "gatekeeper"
    """Flexible (the default): 503 until the first sync, cached state through outages."""
    GATEKEEPER_STRICT = "gatekeeper-strict"
    GATEKEEPER_DISABLED = "gatekeeper-disabled"
    FAIL_STATIC = "fail-static"
    STATE_CACHE = "state-cache"
    """Keeps the last good APIs, policies and contracts on disk (under ``{state_dir}``) and,
    restarted while the platform is unreachable, enforces them at once (MuleSoft: "cached on
    the file system", "you use cached policies, configuration, and contracts")."""
    ANALYTICS = "analytics"
    """One event per decision with the documented fields, delivered once, retried."""
    ANALYTICS_BATCH_INTERVAL = "analytics-batch-interval"
    ANALYTICS_BATCH_SIZE = "analytics-batch-size"
    ROBUSTNESS = "robustness"
    RATE_LIMITING_KEY_SELECTOR = "rate-limiting-key-selector"
    """rate-limiting's ``keySelector`` (one bucket per header value): a Mule-gateway extension
    that the service-mesh policy does not have (research: one bucket per API in ASM)."""
    RATE_LIMITING_EXPOSE_HEADERS = "rate-limiting-expose-headers"
    """``exposeHeaders`` of rate-limiting and rate-limiting-sla-based (``X-Ratelimit-*`` for the
    most restrictive limit): a Mule-gateway option the service-mesh policies do not offer."""
    SPIKE_CONTROL = "spike-control"
    IP_ALLOWLIST = "ip-allowlist"
    IP_BLOCKLIST = "ip-blocklist"
    HEADER_INJECTION = "header-injection"
    HEADER_REMOVAL = "header-removal"
    JSON_THREAT_PROTECTION = "json-threat-protection"
    CORS = "cors"
    SHARED_QUOTA = "shared-quota"
    DISCOVERY = "discovery"
    """Keep-alives: the API instances an adapter serves show Active while it runs (within one
    keep-alive interval of its start, or of a service being discovered) and Inactive once it
    stops."""
    NETWORK_FAULTS = "network-faults"
    """Keeps enforcing and delivers analytics exactly once through faults on its link to the
    platform (latency, stalls, resets, TLS and DNS failures) that the proxy applies: only
    adapters run through the proxy (``control_plane: {via: proxy}``) can claim it."""
    ANALYTICS_LOSS_REPORTING = "analytics-loss-reporting"
    """Events the adapter drops are counted on its Prometheus metrics endpoint."""
    ENVOY_RAW_HEADERS = "envoy-raw-headers"
    """Reads the CheckRequest's ``header_map`` (Envoy's ``encode_raw_headers``: one raw entry
    per header line, duplicates not merged) and decides exactly as for ``headers``."""
    ENVOY_RAW_BODY = "envoy-raw-body"
    """Reads the body from ``raw_body`` (Envoy's ``with_request_body.pack_as_bytes``)."""
    POLICY_SYNC_CONDITIONAL = "policy-sync-conditional"
    """Re-reads an API's policies from the kit's sync API with ``If-None-Match``: unchanged
    ones cost a 304, not the whole chain again (docs/adapter-contract.md §2.3)."""
    CONTRACT_SYNC_INCREMENTAL = "contract-sync-incremental"
    """Reads the kit's contracts feed from the cursor of its last read (``updatedSince``):
    after the first full snapshot, only what changed (docs/adapter-contract.md §2.4)."""
    API_LIST_BY_BINDING = "api-list-by-binding"
    """Enforces the APIs bound to its mesh services, as the kit's sync API lists them: an API
    whose service binding is deleted leaves its list, and comes back when bound again (an
    adapter reading every API of the environment from the public API Manager list does not
    see bindings; docs/adapter-contract.md §3.1)."""


KNOWN_FEATURES: frozenset[str] = frozenset(f.value for f in Feature)
