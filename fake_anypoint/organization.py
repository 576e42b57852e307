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
        self.connected_apps: dict[str, ConnectedApp] = {}
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

    def edit_environment(
        self, env_id: str, *, name: str | None = None, type: str | None = None
    ) -> Environment:
        env = self.environment(env_id)
        if name is not None:
            text("name", name)
            if any(e.name == name and e.id != env_id for e in self.environments.values()):
                raise ValueError(f"name: an environment named {name!r} already exists")
            env.name = name
        if type is not None:
            if type not in ENV_TYPES:
                raise ValueError(f"type: {type!r} must be one of {', '.join(ENV_TYPES)}")
            env.type, env.is_production = type, type == "production"
        self.core.changed()
        return env

    def delete_environment(self, env_id: str, in_use: bool) -> None:
        """Delete an environment that holds no API instance (not the first one)."""
        self.environment(env_id)
        if env_id == self.env_id:
            raise ValueError(f"environmentId: {env_id} is the fake's own environment")
        if in_use:
            raise ValueError(f"environmentId: {env_id} still has API instances; delete them first")
        del self.environments[env_id]
        self.core.changed()

    def environment(self, env_id: str) -> Environment:
        env = self.environments.get(env_id)
        if env is None:
            raise NotFoundError(f"environment {env_id!r} not found in organization {self.org_id}")
        return env

    # -- connected apps -------------------------------------------------------------------------

    def all_connected_apps(self) -> list[ConnectedApp]:
        """The fake's own connected app first, then the ones created over the API."""
        return [self.connected_app, *self.connected_apps.values()]

    def find_connected_app(self, client_id: str) -> ConnectedApp:
        for app in self.all_connected_apps():
            if app.client_id == client_id:
                return app
        raise NotFoundError(f"connected application {client_id!r} not found")

    def create_connected_app(self, name: str, **fields: Any) -> ConnectedApp:
        """A new connected app (``grant_types``, ``scopes``, ``redirect_uris``, ...)."""
        text("client_name", name)
        app = ConnectedApp(self.core.hex(), self.core.hex(), name, **fields)
        app.owner_user_id = self.user["id"]
        self.connected_apps[app.client_id] = app
        self.core.changed()
        return app

    def edit_connected_app(
        self, client_id: str, *, reset_secret: bool = False, **fields: Any
    ) -> ConnectedApp:
        app = self.find_connected_app(client_id)
        for key, value in fields.items():
            if value is not None:
                setattr(app, key, value)
        if reset_secret:
            app.client_secret = self.core.hex()
        self.core.changed()
        return app

    def delete_connected_app(self, client_id: str) -> None:
        """Delete a connected app created over the API (the fake's own one stays)."""
        self.find_connected_app(client_id)
        if client_id == self.connected_app.client_id:
            raise ValueError(
                f"connAppId: {client_id} is the connected app adapters log in with; it stays"
            )
        del self.connected_apps[client_id]
        self.core.changed()
