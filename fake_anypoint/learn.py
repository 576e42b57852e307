"""Learning from a cassette: which endpoints an adapter used, how often, with which answers, and
which of them this fake does not implement (the ones a replay must answer from the recording)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from common.clock import ManualClock

from .cassette import Cassette
from .replay import path_template
from .server import ControlPlaneServer
from .state import ControlPlaneState


@dataclass
class EndpointUse:
    """One endpoint (method and path template on one origin) and how the adapter used it."""

    role: str
    method: str
    template: str
    implemented: bool
    count: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, object]:
        return {
            "role": self.role,
            "method": self.method,
            "path": self.template,
            "implemented": self.implemented,
            "count": self.count,
            "statuses": dict(sorted(self.statuses.items())),
        }


async def _implemented(app: web.Application, method: str, path: str) -> bool:
    match = await app.router.resolve(make_mocked_request(method, path, app=app))
    return match.http_exception is None


async def endpoint_uses(cassette: Cassette) -> list[EndpointUse]:
    """Every endpoint in the cassette, most used first; ``implemented`` says whether this fake
    has a route for it."""
    server = ControlPlaneServer(ControlPlaneState(clock=ManualClock()))
    apps = {"platform": server.platform_app(), "ingest": server.ingest_app()}
    uses: dict[tuple[str, str, str], EndpointUse] = {}
    for item in cassette.interactions:
        role = cassette.role_of(item.host)
        method, template = item.request.method.upper(), path_template(item.request.path)
        key = (role, method, template)
        use = uses.get(key)
        if use is None:
            known = await _implemented(apps[role], method, item.request.path)
            use = uses[key] = EndpointUse(role, method, template, known)
        use.count += 1
        if item.response is not None:
            use.statuses[item.response.status] += 1
    return sorted(uses.values(), key=lambda u: (-u.count, u.role, u.template, u.method))


def unimplemented(uses: list[EndpointUse]) -> list[EndpointUse]:
    """The endpoints the adapter used that the fake does not implement."""
    return [use for use in uses if not use.implemented]
