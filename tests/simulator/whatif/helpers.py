"""Building small what-if specs for the tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from simulator.whatif import WhatIfSpec, load_whatif
from simulator.whatif.loader import WhatIfFile

CID = {
    "key": "cid",
    "asset_id": "client-id-enforcement",
    "configuration": {
        "clientIdExpression": "#[attributes.headers['client_id']]",
        "clientSecretExpression": "#[attributes.headers['client_secret']]",
    },
}


def rate_limit(maximum: int, period_ms: int = 1000) -> dict[str, Any]:
    return {
        "key": "rl",
        "asset_id": "rate-limiting",
        "configuration": {
            "rateLimits": [{"maximumRequests": maximum, "timePeriodInMilliseconds": period_ms}],
            "clusterizable": True,
        },
    }


def base(**over: Any) -> dict[str, Any]:
    """A valid spec: one API with client-id enforcement, two approved clients, 500 rps."""
    data: dict[str, Any] = {
        "name": "t",
        "question": "a test question?",
        "seed": 1,
        "duration": 30.0,
        "replications": 2,
        "control_plane": {
            "apis": [{"key": "orders", "policies": [copy.deepcopy(CID)]}],
            "applications": [{"key": "mobile"}, {"key": "web"}],
            "contracts": [
                {"application": "mobile", "api": "orders"},
                {"application": "web", "api": "orders"},
            ],
        },
        "adapter": {"contracts_interval": 5.0},
        "traffic": {
            "arrival": {"process": "poisson", "rate": 500},
            "clients": [
                {"application": "mobile", "api": "orders"},
                {"application": "web", "api": "orders"},
            ],
        },
    }
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def spec(**over: Any) -> WhatIfSpec:
    return WhatIfSpec.model_validate(base(**over))


def write(tmp: Path, data: dict[str, Any], name: str = "t") -> Path:
    path = tmp / f"{name}.whatif.yaml"
    path.write_text(yaml.safe_dump({**data, "name": data.get("name", name)}, sort_keys=False))
    return path


def load(tmp: Path, data: dict[str, Any], name: str = "t") -> WhatIfFile:
    return load_whatif(write(tmp, data, name))
