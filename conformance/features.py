"""Features and conformance profiles, as data (the Gateway API model).

``asm-core`` is what an Anypoint Service Mesh adapter must do; ``extended`` holds Mule-gateway
behaviours an ASM adapter may claim. An adapter profile claims features; scenarios that need an
unclaimed feature are reported ``not_supported``, never failed.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    FAIL_STATIC = "fail-static"
    ANALYTICS = "analytics"
    ROBUSTNESS = "robustness"
    SPIKE_CONTROL = "spike-control"
    IP_ALLOWLIST = "ip-allowlist"
    IP_BLOCKLIST = "ip-blocklist"
    HEADER_INJECTION = "header-injection"
    HEADER_REMOVAL = "header-removal"
    JSON_THREAT_PROTECTION = "json-threat-protection"
    CORS = "cors"
    SHARED_QUOTA = "shared-quota"


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
            Feature.ROBUSTNESS,
        }
    ),
    extended=frozenset({Feature.SHARED_QUOTA}),
)

EXTENDED = ConformanceProfile(
    name="extended",
    core=frozenset(),
    extended=frozenset(
        {
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

KNOWN_FEATURES: frozenset[str] = frozenset(f.value for f in Feature)
