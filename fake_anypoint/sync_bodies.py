"""The adapter sync API's response bodies, computed from the state without HTTP: plain
functions of a ``ControlPlaneState``. The HTTP handlers serve exactly these bodies, and
in-process users (the what-if engine) read the same JSON straight from the state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .views import feed_contract, sync_api, sync_policy

if TYPE_CHECKING:
    from .state import ControlPlaneState

DEFAULT_FEED_LIMIT = 100


def ccs_base(org_id: str, env_id: str) -> str:
    return f"/apigateway/ccs/v3/organizations/{org_id}/environments/{env_id}"


def sync_apis(state: ControlPlaneState, env_id: str | None = None) -> dict[str, Any]:
    """``GET …/apis``: ``{"data": [{apiId, assetId, ..., policiesVersion, services}]}``: the
    instances bound to a mesh service, the ones an ASM adapter enforces."""
    apis = sorted((a for a in state.list_apis(env_id) if a.services), key=lambda a: a.id)
    return {"data": [sync_api(a) for a in apis]}


def sync_policies(
    state: ControlPlaneState, api_id: int, env_id: str | None = None
) -> dict[str, Any]:
    """``GET …/apis/{id}/policies``: ``{apiId, version, policies}`` (ETag = version)."""
    api = state.api_in(api_id, env_id or state.env_id)
    return {
        "apiId": api.id,
        "version": str(api.policies_version),
        "policies": [sync_policy(p) for p in state.policies_of(api.id)],
    }


def sync_contracts(
    state: ControlPlaneState,
    api_id: int,
    updated_since: int | None = None,
    limit: int = DEFAULT_FEED_LIMIT,
    env_id: str | None = None,
    self_link: str | None = None,
) -> dict[str, Any]:
    """One contracts-feed page: ``{links: {self, next?}, cursor, data}``."""
    env = env_id or state.env_id
    state.api_in(api_id, env)
    page, cursor, next_since = state.contracts_feed(api_id, updated_since, limit)
    path = f"{ccs_base(state.org_id, env)}/apis/{api_id}/contracts"
    links: dict[str, Any] = {"self": self_link or path}
    if next_since is not None:
        links["next"] = f"{path}?updatedSince={next_since}&limit={limit}"
    return {
        "links": links,
        "cursor": str(cursor),
        "data": [feed_contract(state, c) for c in page],
    }
