"""From a what-if spec to what the live stack needs: a `StackPlan` (the adapter settings, which
reach the adapter through its profile's placeholders; replicas; Envoy's timeout; Redis for shared
quotas) and the request pools' directory of the ids the stack's control plane was seeded with."""

from __future__ import annotations

from dataclasses import dataclass

from common.adapter_settings import SETTING_NAMES, AdapterSettings
from fake_anypoint import SeedResult
from live.profile import AdapterProfile
from live.stack import StackPlan
from scenarios.model import DataPlaneNeeds
from simulator.whatif.spec import WhatIfSpec


def needs_redis(spec: WhatIfSpec) -> bool:
    """Shared quotas go through Redis when more than one replica may count, or Redis stops."""
    events = {e.action for e in spec.timeline}
    several = spec.adapter.replicas > 1 or "add_replica" in events
    return spec.adapter.quota == "shared" and (several or "redis_outage" in events)


def spec_settings(spec: WhatIfSpec) -> AdapterSettings:
    """The kit-wide adapter settings of the spec (the what-if's adapter section extends them)."""
    return AdapterSettings.model_validate({n: getattr(spec.adapter, n) for n in SETTING_NAMES})


def unpassable(spec: WhatIfSpec, profile: AdapterProfile) -> list[str]:
    """Settings the spec sets to other values than the profile's and the profile cannot pass:
    the live adapter runs with its own (a warning in the report)."""
    given = spec_settings(spec)
    return profile.unmet_needs(
        {
            n: getattr(given, n)
            for n in SETTING_NAMES
            if getattr(given, n) != getattr(profile.sync, n)
        }
    )


def plan_for_whatif(spec: WhatIfSpec, profile: AdapterProfile) -> StackPlan:
    return StackPlan(
        name=spec.name,
        seed=spec.seed,
        control_plane=spec.control_plane,
        settings=spec_settings(spec),
        replicas=spec.adapter.replicas,
        data_plane=DataPlaneNeeds(timeout=spec.adapter.check_timeout),
        shared_quota=spec.adapter.quota == "shared",
        redis=needs_redis(spec),
    )


@dataclass(frozen=True)
class SeededIds:
    """The request pools' `Directory` on a live stack's seed result."""

    ids: SeedResult

    def api_id(self, key: str) -> str:
        return str(self.ids.apis[key])

    def credentials(self, application: str) -> tuple[str, str]:
        app = self.ids.applications[application]
        return app.client_id, app.client_secret
