"""The organization part of the state: its identity, environments, the connected app the
adapter logs in with, and the platform user the CLI logs in as.
"""

from __future__ import annotations

from typing import Any

from .core import Core
from .inputs import text
from .model import ConnectedApp, Environment, NotFoundError

ENV_TYPES = ("production", "sandbox", "design")


class Organization:
    """One organization with a first ``Sandbox`` environment (``env_id``)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.org_id = core.uuid()
        self.org_name = "asmkit-org"
        self.environments: dict[str, Environment] = {}
        self.env_id = self.create_environment("Sandbox", is_production=False).id
        self.connected_app = ConnectedApp(core.hex(), core.hex())
        self.user: dict[str, Any] = {
            "id": core.uuid(),
            "username": "asmkit-admin",
            "password": "asmkit-password",
            "firstName": "Asm",
            "lastName": "Kit",
            "email": "asmkit-admin@example.invalid",
        }

    def create_environment(
        self, name: str, *, is_production: bool = False, type: str | None = None
    ) -> Environment:
        text("name", name)
        if any(e.name == name for e in self.environments.values()):
            raise ValueError(f"name: an environment named {name!r} already exists")
        env_type = type or ("production" if is_production else "sandbox")
        if env_type not in ENV_TYPES:
            raise ValueError(f"type: {env_type!r} must be one of {', '.join(ENV_TYPES)}")
        core = self.core
        env = Environment(core.uuid(), name, self.org_id, is_production, env_type, core.hex())
        self.environments[env.id] = env
        core.changed()
        return env

    def environment(self, env_id: str) -> Environment:
        env = self.environments.get(env_id)
        if env is None:
            raise NotFoundError(f"environment {env_id!r} not found in organization {self.org_id}")
        return env
