"""The Exchange part of the state: published asset versions, plus the ones API instances imply
(an API instance always names an asset, as in Exchange). Deleted versions are remembered so
Exchange can answer 410 Gone for them.
"""

from __future__ import annotations

import re

from .catalog import Catalog
from .core import Core
from .inputs import text
from .model import Asset, NotFoundError

SEMVER = re.compile(r"^\d+\.\d+\.\d+(-.+)?$")
ASSET_TYPES = ("rest-api", "http-api", "raml", "oas", "wsdl", "raml-fragment", "custom", "policy")


class GoneError(NotFoundError):
    """A deleted asset version was asked for (HTTP 410)."""


class Exchange:
    """``publish_asset``, ``assets``, ``asset``, ``delete_asset``."""

    def __init__(self, core: Core, catalog: Catalog) -> None:
        self.core = core
        self.catalog = catalog
        self.published: dict[str, Asset] = {}
        self.deleted: set[str] = set()

    def publish_asset(
        self,
        group_id: str,
        asset_id: str,
        version: str,
        *,
        name: str | None = None,
        type: str = "rest-api",
        description: str = "",
    ) -> Asset:
        """Publish an asset version; ValueError for a bad version or one that exists."""
        text("groupId", group_id)
        text("assetId", asset_id)
        if not isinstance(version, str) or not SEMVER.match(version):
            raise ValueError(f"version: {version!r} must match x.y.z or x.y.z-suffix (semver)")
        if type not in ASSET_TYPES:
            raise ValueError(f"type: {type!r} must be one of {', '.join(ASSET_TYPES)}")
        key = f"{group_id}/{asset_id}/{version}"
        if key in self.published:
            raise ValueError(f"version: asset {key} already exists; publish a new version")
        asset = Asset(
            group_id, asset_id, version, name or asset_id, type, description, self.core.wall()
        )
        self.published[key] = asset
        self.deleted.discard(key)
        self.core.changed()
        return asset

    def assets(self) -> list[Asset]:
        """Published assets and the ones API instances name, sorted by coordinates."""
        found = dict(self.published)
        for api in self.catalog.apis.values():
            key = f"{api.group_id}/{api.asset_id}/{api.asset_version}"
            if key not in found:
                found[key] = Asset(
                    api.group_id,
                    api.asset_id,
                    api.asset_version,
                    api.asset_id,
                    "rest-api",
                    "",
                    api.created_wall,
                )
        return [found[k] for k in sorted(found)]

    def asset(self, group_id: str, asset_id: str, version: str) -> Asset:
        """One asset version; ``GoneError`` once deleted, ``NotFoundError`` if never known."""
        for asset in self.assets():
            if (asset.group_id, asset.asset_id, asset.version) == (group_id, asset_id, version):
                return asset
        if f"{group_id}/{asset_id}/{version}" in self.deleted:
            raise GoneError(f"asset {group_id}/{asset_id}/{version} was deleted")
        raise NotFoundError(f"There is no asset matching {group_id}/{asset_id}/{version}")

    def delete_asset(self, group_id: str, asset_id: str, version: str) -> None:
        """Delete a published asset version (assets named by API instances cannot be)."""
        key = f"{group_id}/{asset_id}/{version}"
        if key not in self.published:
            self.asset(group_id, asset_id, version)  # 404 or 410 when not there
            raise ValueError(f"asset {key} is used by an API instance; delete the API first")
        del self.published[key]
        self.deleted.add(key)
        self.core.changed()
