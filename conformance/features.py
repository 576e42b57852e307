"""Features and conformance profiles, as data (the Gateway API model).

``asm-core`` is what an Anypoint Service Mesh adapter must do; ``extended`` holds Mule-gateway
behaviours an ASM adapter may claim. An adapter profile claims features; scenarios that need an
unclaimed feature are reported ``not_supported``, never failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.features import KNOWN_FEATURES, Feature


@dataclass(frozen=True, slots=True)
class ConformanceProfile:
    """A named set of features: all ``core`` ones are required, ``extended`` ones if claimed."""

    name: str
    core: frozenset[Feature]
    extended: frozenset[Feature]


ASM_CORE = ConformanceProfile(
    name="asm-core",
    core=frozenset(
        {
            Feature.CLIENT_ID_ENFORCEMENT,
            Feature.RATE_LIMITING,
            Feature.RATE_LIMITING_SLA,
            Feature.JWT_VALIDATION,
            Feature.HTTP_BASIC_AUTH,
            Feature.LDAP_AUTH,
            Feature.POLICY_SYNC,
            Feature.CONTRACT_SYNC,
            Feature.GATEKEEPER,
            Feature.FAIL_STATIC,
            Feature.ANALYTICS,
            Feature.ANALYTICS_BATCH_INTERVAL,
            Feature.ROBUSTNESS,
            Feature.DISCOVERY,
        }
    ),
    extended=frozenset(
        {
            Feature.SHARED_QUOTA,
            Feature.GATEKEEPER_STRICT,
            Feature.GATEKEEPER_DISABLED,
            Feature.ANALYTICS_BATCH_SIZE,
            Feature.NETWORK_FAULTS,
            Feature.ANALYTICS_LOSS_REPORTING,
            Feature.ENVOY_RAW_HEADERS,
            Feature.ENVOY_RAW_BODY,
            Feature.POLICY_SYNC_CONDITIONAL,
            Feature.CONTRACT_SYNC_INCREMENTAL,
            Feature.API_LIST_BY_BINDING,
            Feature.STATE_CACHE,
        }
    ),
)

EXTENDED = ConformanceProfile(
    name="extended",
    core=frozenset(),
    extended=frozenset(
        {
            Feature.RATE_LIMITING_KEY_SELECTOR,
            Feature.RATE_LIMITING_EXPOSE_HEADERS,
            Feature.SPIKE_CONTROL,
            Feature.IP_ALLOWLIST,
            Feature.IP_BLOCKLIST,
            Feature.HEADER_INJECTION,
            Feature.HEADER_REMOVAL,
            Feature.JSON_THREAT_PROTECTION,
            Feature.CORS,
        }
    ),
)

PROFILES: tuple[ConformanceProfile, ...] = (ASM_CORE, EXTENDED)

__all__ = ["ASM_CORE", "EXTENDED", "KNOWN_FEATURES", "PROFILES", "ConformanceProfile", "Feature"]
