"""The control-plane seed: the one model of "what the control plane holds at the start" that
scenarios and what-ifs embed (``control_plane:``) and the admin API accepts, its reference
checks, and ``apply_seed`` that creates it on a state (all or nothing:
``seed_all_or_nothing``).

Keys are document-local names (``apis.orders``, ``orders/gold``); the state assigns ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .model import SeedResult
from .persist import dump_state, load_parts

if TYPE_CHECKING:
    from .state import ControlPlaneState

ContractStatus = Literal["APPROVED", "PENDING", "REVOKED", "REJECTED"]
Key = str
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
Loc = tuple[str | int, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pointcut(_Strict):
    """Restricts a policy to requests whose method and path match these regexes."""

    method_regex: str = Field(".*", max_length=1000)
    uri_template_regex: str = Field(".*", max_length=1000)


class PolicySpec(_Strict):
    """A policy applied to an API, as API Manager stores it."""

    key: str | None = Field(
        None, pattern=KEY_PATTERN, description="Document-local name; defaults to asset_id."
    )
    asset_id: str = Field(
        min_length=1, max_length=200, description="Exchange asset id, e.g. client-id-enforcement."
    )
    asset_version: str | None = Field(None, max_length=50)
    configuration: dict[str, Any] = Field(default_factory=dict)
    disabled: bool = False
    order: int | None = Field(None, ge=1, le=10_000)
    pointcut: list[Pointcut] | None = Field(None, max_length=100)

    @property
    def name(self) -> str:
        return self.key or self.asset_id


class LimitSpec(_Strict):
    """One SLA-tier limit: at most ``maximum_requests`` per ``time_period_ms``."""

    maximum_requests: int = Field(ge=1, le=10**12)
    time_period_ms: int = Field(gt=0, le=366 * 24 * 3600 * 1000)
    visible: bool = True

    def wire(self) -> dict[str, Any]:
        """The limit as API Manager writes it."""
        return {
            "maximumRequests": self.maximum_requests,
            "timePeriodInMilliseconds": self.time_period_ms,
            "visible": self.visible,
        }


class TierSpec(_Strict):
    """An SLA tier of an API."""

    key: Key = Field(pattern=KEY_PATTERN)
    name: str | None = Field(None, max_length=200)
    auto_approve: bool = True
    limits: list[LimitSpec] = Field(min_length=1, max_length=100)


class ApiSpec(_Strict):
    """An API Manager instance, with the mesh services bound to it."""

    key: Key = Field(pattern=KEY_PATTERN)
    asset_id: str | None = Field(None, max_length=200)
    asset_version: str = Field("1.0.0", max_length=50)
    product_version: str = Field("v1", max_length=50)
    instance_label: str | None = Field(None, max_length=200)
    services: list[str] | None = Field(
        None,
        max_length=100,
        description="Mesh services bound to the API; default <key>.default.svc.cluster.local. "
        "[]: the instance exists in API Manager but no service is bound to it yet, so no "
        "adapter enforces it until a bind_service step binds one",
    )
    policies: list[PolicySpec] = Field(default_factory=list, max_length=100)
    tiers: list[TierSpec] = Field(default_factory=list, max_length=100)

    @property
    def bound_services(self) -> list[str]:
        if self.services is None:
            return [f"{self.key}.default.svc.cluster.local"]
        return list(self.services)


class ApplicationSpec(_Strict):
    """A client application; credentials are generated from the run's seed when not given."""

    key: Key = Field(pattern=KEY_PATTERN)
    name: str | None = Field(None, max_length=200)
    client_id: str | None = Field(None, min_length=1, max_length=200)
    client_secret: str | None = Field(None, min_length=1, max_length=200)


class ContractSpec(_Strict):
    """A contract between an application and an API, optionally on a tier."""

    application: Key
    api: Key
    tier: Key | None = None
    status: ContractStatus = "APPROVED"


class ControlPlaneSpec(_Strict):
    """Everything the fake control plane holds when a scenario or what-if starts."""

    apis: list[ApiSpec] = Field(default_factory=list, max_length=1000)
    applications: list[ApplicationSpec] = Field(default_factory=list, max_length=10_000)
    contracts: list[ContractSpec] = Field(default_factory=list, max_length=10_000)

    def problems(self) -> list[tuple[Loc, str]]:
        """Duplicate keys and references to keys that do not exist, each with where it is."""
        out: list[tuple[Loc, str]] = []
        out += _duplicates(("apis",), [a.key for a in self.apis], "API")
        out += _duplicates(("applications",), [a.key for a in self.applications], "application")
        for i, api in enumerate(self.apis):
            out += _duplicates(("apis", i, "policies"), [p.name for p in api.policies], "policy")
            out += _duplicates(("apis", i, "tiers"), [t.key for t in api.tiers], "tier")
        apis = {a.key: a for a in self.apis}
        apps = {a.key for a in self.applications}
        seen: set[tuple[str, str]] = set()
        for i, c in enumerate(self.contracts):
            here: Loc = ("contracts", i)
            if c.application not in apps:
                out.append(((*here, "application"), _unknown("application", c.application, apps)))
            if c.api not in apis:
                out.append(((*here, "api"), _unknown("API", c.api, set(apis))))
            elif c.tier is not None and c.tier not in {t.key for t in apis[c.api].tiers}:
                tiers = {t.key for t in apis[c.api].tiers}
                out.append(((*here, "tier"), _unknown(f"tier of API {c.api!r}", c.tier, tiers)))
            if (c.application, c.api) in seen:
                out.append((here, f"a second contract between {c.application!r} and {c.api!r}"))
            seen.add((c.application, c.api))
        return out


def _duplicates(loc: Loc, keys: list[str], what: str) -> list[tuple[Loc, str]]:
    seen: set[str] = set()
    out: list[tuple[Loc, str]] = []
    for i, key in enumerate(keys):
        if key in seen:
            out.append(((*loc, i), f"duplicate {what} key {key!r}; keys must be unique"))
        seen.add(key)
    return out


def _unknown(what: str, key: str, known: set[str]) -> str:
    return f"{key!r} is not a known {what}; known: {', '.join(sorted(known)) or 'none'}"


def dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def seed_all_or_nothing(
    state: ControlPlaneState, spec: ControlPlaneSpec | dict[str, Any] | None
) -> SeedResult:
    """`apply_seed` as one change: a partial seed is undone (the state restored from its
    snapshot before) and the change hooks fire once, after the whole document."""
    if not isinstance(spec, ControlPlaneSpec):
        spec = ControlPlaneSpec.model_validate(spec if spec is not None else {})
    before = dump_state(state)
    hook, state.hooks.on_change = state.hooks.on_change, None
    try:
        result = apply_seed(state, spec)
    except BaseException:
        state.parts = load_parts(state, before)
        raise
    finally:
        state.hooks.on_change = hook
    state.hooks.changed()
    return result


def apply_seed(state: ControlPlaneState, spec: ControlPlaneSpec) -> SeedResult:
    """Create everything ``spec`` describes on ``state``; ValueError naming the first problem
    (`seed_all_or_nothing` undoes a partial seed)."""
    problems = spec.problems()
    if problems:
        loc, message = problems[0]
        raise ValueError(f"control_plane.{dotted(loc)}: {message}")
    result = SeedResult({}, {}, {}, {}, {})
    for api in spec.apis:
        api_id = state.create_api(
            api.asset_id or api.key,
            asset_version=api.asset_version,
            product_version=api.product_version,
            instance_label=api.instance_label,
            services=api.bound_services,
        )
        result.apis[api.key] = api_id
        for order, policy in enumerate(api.policies, start=1):
            result.policies[f"{api.key}/{policy.name}"] = state.apply_policy(
                api_id,
                policy.asset_id,
                dict(policy.configuration),
                asset_version=policy.asset_version,
                order=policy.order if policy.order is not None else order,
                disabled=policy.disabled,
                pointcut=pointcut_wire(policy.pointcut),
            )
        for tier in api.tiers:
            limits = [limit.wire() for limit in tier.limits]
            result.tiers[f"{api.key}/{tier.key}"] = state.add_tier(
                api_id, tier.name or tier.key, limits, tier.auto_approve
            )
    for app in spec.applications:
        result.applications[app.key] = state.create_application(
            app.name or app.key, app.client_id, app.client_secret
        )
    for contract in spec.contracts:
        api_id = result.apis[contract.api]
        tier_id = result.tiers[f"{contract.api}/{contract.tier}"] if contract.tier else None
        app_id = result.applications[contract.application].id
        contract_id = state.create_contract(api_id, app_id, tier_id)
        if state.contracts[contract_id].status != contract.status:
            state.set_contract_status(api_id, contract_id, contract.status)
        result.contracts[f"{contract.application}/{contract.api}"] = contract_id
    return result


def pointcut_wire(pointcut: list[Pointcut] | None) -> list[dict[str, str]] | None:
    """Pointcuts as API Manager writes them (``methodRegex``, ``uriTemplateRegex``)."""
    if pointcut is None:
        return None
    return [
        {"methodRegex": p.method_regex, "uriTemplateRegex": p.uri_template_regex} for p in pointcut
    ]
