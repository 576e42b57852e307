"""From API Manager's applied-policy JSON to configured policy objects: the registry of
implementations by Exchange asset id, `AppliedPolicy` (order, disabled, pointcuts) and
`build_chain`, which the engine calls whenever an API's policy set changes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reference_adapter.model import CheckInput, PolicyRef
from reference_adapter.policies.base import Policy, PolicyConfigError, PolicyContext
from reference_adapter.policies.bounded_regex import MAX_PATH, MAX_SUBJECT, compile_bounded
from reference_adapter.policies.client_id_enforcement import ClientIdEnforcement
from reference_adapter.policies.cors import Cors
from reference_adapter.policies.headers import HeaderInjection, HeaderRemoval
from reference_adapter.policies.http_basic_authentication import HttpBasicAuthentication
from reference_adapter.policies.ip_filter import IpAllowlist, IpBlocklist
from reference_adapter.policies.json_threat_protection import JsonThreatProtection
from reference_adapter.policies.jwt_validation import JwtValidation
from reference_adapter.policies.ldap_authentication import LdapAuthentication
from reference_adapter.policies.rate_limiting import RateLimiting
from reference_adapter.policies.rate_limiting_sla import RateLimitingSla
from reference_adapter.policies.spike_control import SpikeControl

PolicyFactory = Callable[[Mapping[str, Any] | None, PolicyContext], Policy]

REGISTRY: dict[str, PolicyFactory] = {
    # ASM core
    ClientIdEnforcement.asset_id: ClientIdEnforcement.from_configuration,
    HttpBasicAuthentication.asset_id: HttpBasicAuthentication.from_configuration,
    JwtValidation.asset_id: JwtValidation.from_configuration,
    LdapAuthentication.asset_id: LdapAuthentication.from_configuration,
    RateLimiting.asset_id: RateLimiting.from_configuration,
    RateLimitingSla.asset_id: RateLimitingSla.from_configuration,
    # extended profile (Mule gateway policies)
    Cors.asset_id: Cors.from_configuration,
    HeaderInjection.asset_id: HeaderInjection.from_configuration,
    HeaderRemoval.asset_id: HeaderRemoval.from_configuration,
    IpAllowlist.asset_id: IpAllowlist.from_configuration,
    IpBlocklist.asset_id: IpBlocklist.from_configuration,
    JsonThreatProtection.asset_id: JsonThreatProtection.from_configuration,
    SpikeControl.asset_id: SpikeControl.from_configuration,
    "ip-whitelist": IpAllowlist.from_configuration,  # the older asset names
    "ip-blacklist": IpBlocklist.from_configuration,
}


def register(asset_id: str, factory: PolicyFactory) -> None:
    """Add (or replace) the implementation of a policy asset id."""
    REGISTRY[asset_id] = factory


@dataclass(frozen=True, slots=True)
class Pointcut:
    """Apply the policy only to requests whose method and path (without query) match."""

    method: re.Pattern[str]
    uri: re.Pattern[str]

    def matches(self, method: str, path: str) -> bool:
        if self.method.fullmatch(method[:MAX_SUBJECT]) is None:
            return False
        return len(path) > MAX_PATH or self.uri.fullmatch(path) is not None


def parse_pointcuts(raw: object, where: str) -> tuple[Pointcut, ...]:
    """``pointcutData``: null or ``[{methodRegex, uriTemplateRegex}]`` (any entry may match)."""
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        raise PolicyConfigError(f"{where}: pointcutData={raw!r}: expected null or a list")
    pointcuts: list[Pointcut] = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise PolicyConfigError(f"{where}: pointcutData entry {entry!r}: expected an object")
        method = str(entry.get("methodRegex") or ".*")
        uri = str(entry.get("uriTemplateRegex") or ".*")
        try:
            pointcuts.append(Pointcut(compile_bounded(method), compile_bounded(uri)))
        except ValueError as exc:
            raise PolicyConfigError(
                f"{where}: pointcutData {dict(entry)!r}: methodRegex and uriTemplateRegex must"
                f" be bounded regular expressions: {exc}"
            ) from None
    return tuple(pointcuts)


@dataclass(frozen=True, slots=True)
class AppliedPolicy:
    """A policy as applied to one API: identity, place in the chain, scope, implementation."""

    ref: PolicyRef
    order: int
    disabled: bool
    pointcuts: tuple[Pointcut, ...]
    impl: Policy
    fingerprint: str

    def applies_to(self, request: CheckInput) -> bool:
        if not self.pointcuts:
            return True
        path = request.path.partition("?")[0]
        return any(p.matches(request.method, path) for p in self.pointcuts)


def _fingerprint(item: Mapping[str, Any]) -> str:
    return json.dumps(
        [item.get("template"), item.get("configuration")], sort_keys=True, default=str
    )


def asset_id_of(item: Mapping[str, Any]) -> str:
    template = item.get("template")
    if isinstance(template, Mapping) and template.get("assetId"):
        return str(template["assetId"])
    for key in ("assetId", "policyTemplateId", "name"):
        if item.get(key):
            return str(item[key])
    raise PolicyConfigError(f"policy {item.get('policyId')!r}: no template.assetId: {dict(item)!r}")


def build_policy(
    item: Mapping[str, Any],
    previous: Mapping[int, AppliedPolicy] | None = None,
    context: PolicyContext | None = None,
) -> AppliedPolicy:
    """Configure one applied policy. A policy whose template and configuration did not change
    keeps its previous object, so its state (rate-limit windows) survives a re-sync."""
    if not isinstance(item, Mapping):
        raise PolicyConfigError(f"applied policy {item!r}: expected an object")
    try:
        policy_id = int(item["policyId"])
    except (KeyError, TypeError, ValueError):
        raise PolicyConfigError(
            f"applied policy without an integer policyId: {dict(item)!r}"
        ) from None
    asset_id = asset_id_of(item)
    where = f"policy {policy_id} ({asset_id})"
    fingerprint = _fingerprint(item)
    order = item.get("order")
    pointcuts = parse_pointcuts(item.get("pointcutData"), where)
    disabled = bool(item.get("disabled", False))
    old = previous.get(policy_id) if previous else None
    if old is not None and old.fingerprint == fingerprint:
        impl = old.impl
    else:
        factory = REGISTRY.get(asset_id)
        if factory is None:
            raise PolicyConfigError(
                f"{where}: the reference adapter does not implement {asset_id!r}; supported: "
                + ", ".join(sorted(REGISTRY))
            )
        try:
            base = context or PolicyContext()
            ctx = PolicyContext(
                base.api_id, policy_id, base.shared_windows, base.jwks, base.time_base
            )
            impl = factory(item.get("configuration"), ctx)
        except PolicyConfigError as exc:
            raise PolicyConfigError(f"policy {policy_id}: {exc}") from None
    return AppliedPolicy(
        ref=PolicyRef(policy_id, asset_id),
        order=int(order) if isinstance(order, int | str) and str(order).isdigit() else 1_000_000,
        disabled=disabled,
        pointcuts=pointcuts,
        impl=impl,
        fingerprint=fingerprint,
    )


ALWAYS_FIRST = "cors"


def build_chain(
    items: Sequence[Mapping[str, Any]],
    previous: Sequence[AppliedPolicy] = (),
    context: PolicyContext | None = None,
) -> tuple[AppliedPolicy, ...]:
    """All applied policies of an API, sorted by ``order`` (then id), CORS first whatever its
    order (MuleSoft's CORS page: "The CORS policy is always applied first by the API gateway,
    before any other policies can be applied"). Disabled ones are kept (for status reports)
    but skipped by the engine."""
    old = {p.ref.policy_id: p for p in previous}
    built = [build_policy(item, old, context) for item in items]
    built.sort(key=lambda p: (p.ref.name != ALWAYS_FIRST, p.order, p.ref.policy_id))
    return tuple(built)
