"""Service discovery as Anypoint Service Mesh does it: binding a mesh service publishes an
Exchange asset (HTTP, REST or SOAP) and creates an API Manager instance for it, which shows
``active`` while an adapter sends keep-alives naming it; and the summary a scenario checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .model import NotFoundError

if TYPE_CHECKING:
    from .state import ControlPlaneState

AssetType = Literal["http", "rest", "soap"]

EXCHANGE_TYPES: dict[str, str] = {"http": "http-api", "rest": "rest-api", "soap": "wsdl"}
"""Exchange asset type of each kind of discovered service."""
ENDPOINT_TYPES: dict[str, str] = {"http": "http", "rest": "raml", "soap": "wsdl"}
"""API Manager endpoint type of each kind."""
_KIND_OF: dict[str, AssetType] = {
    "http-api": "http",
    "rest-api": "rest",
    "raml": "rest",
    "oas": "rest",
    "wsdl": "soap",
}


@dataclass(frozen=True)
class InstanceSummary:
    """An API instance as API Manager shows it after discovery."""

    api_id: int
    asset_id: str
    asset_type: AssetType | None
    status: str
    services: tuple[str, ...]


def discover(
    state: ControlPlaneState,
    service: str,
    asset_type: AssetType,
    *,
    asset_id: str | None = None,
    product_version: str = "v1",
) -> int:
    """Bind ``service``: publish its asset (unless published) and create its API instance (unless
    one exists for that asset and product version), then bind the service to it."""
    name = asset_id or service.split(".")[0]
    version = "1.0.0"
    existing = [
        a for a in state.list_apis() if a.asset_id == name and a.product_version == product_version
    ]
    if existing:
        return state.bind_service(service, api_id=existing[0].id)
    try:
        state.asset(state.org_id, name, version)
    except NotFoundError:
        state.publish_asset(state.org_id, name, version, type=EXCHANGE_TYPES[asset_type])
    api_id = state.create_api(
        name,
        asset_version=version,
        product_version=product_version,
        technology="serviceMesh",
        endpoint={"type": ENDPOINT_TYPES[asset_type], "deploymentType": "HY"},
    )
    return state.bind_service(service, api_id=api_id)


def summary(state: ControlPlaneState, api_id: int) -> InstanceSummary:
    """The instance's asset kind (from its Exchange asset), status and bound services."""
    api = state.api(api_id)
    try:
        kind = _KIND_OF.get(state.asset(api.group_id, api.asset_id, api.asset_version).type)
    except NotFoundError:
        kind = None
    return InstanceSummary(api.id, api.asset_id, kind, state.api_status(api), tuple(api.services))
