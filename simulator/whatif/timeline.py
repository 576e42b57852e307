"""Timeline events of a what-if: control-plane changes (the fake's own change vocabulary), faults
(control-plane outage, errors or latency, analytics-ingest outage) and process events (an adapter
replica killed or stopped and restarted, a replica added or removed, Redis stopped), each at a
time. The virtual and the live engine run the same events."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.durations import Duration
from fake_anypoint import CHANGES as CHANGE_MODELS
from fake_anypoint import Change, ChangeFields

CHANGE_KINDS: tuple[str, ...] = tuple(CHANGE_MODELS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Window(_Strict):
    duration: Duration


class ErrorWindow(_Strict):
    """Sync calls answer ``status`` during ``duration`` (``probability``: a seeded share of
    them)."""

    duration: Duration
    status: int = Field(500, ge=400, le=599)
    probability: float = Field(1.0, gt=0, le=1)


class LatencyWindow(_Strict):
    """Every control-plane call takes ``latency`` (more than the adapter's request timeout
    fails the call) during ``duration``."""

    duration: Duration
    latency: Duration


class IngestOutage(_Strict):
    """``down``: posts fail; ``lost_responses``: the ingest keeps the batch but the answer is
    lost, so the adapter retries it (duplicates)."""

    duration: Duration
    mode: Literal["down", "lost_responses"] = "down"


class AdapterRestart(_Strict):
    """A replica (or all, when ``replica`` is unset) stops and starts cold ``downtime`` later
    (null: it stays down). ``signal: kill`` (SIGKILL): its state and unsent analytics are lost;
    ``term`` (SIGTERM): it posts what it holds first. Checks meanwhile fail (Envoy's
    status_on_error)."""

    replica: int | None = Field(None, ge=0)
    downtime: Duration | None = 5.0
    signal: Literal["kill", "term"] = "kill"


class AddReplica(_Strict):
    """One more replica starts (cold: 503 until its first sync) and takes its share of
    traffic."""


class RemoveReplica(_Strict):
    """A replica (default: the newest still running) leaves the routing and stops cleanly
    (SIGTERM: it posts what it holds); the others take its traffic."""

    replica: int | None = Field(None, ge=0)


class RedisOutage(_Strict):
    """Redis (the shared quota store of ``quota: shared``) is stopped for ``duration``:
    meanwhile each replica counts in its own memory, then the shared counts resume."""

    duration: Duration


ACTIONS: tuple[str, ...] = (
    *CHANGE_KINDS,
    "control_plane_outage",
    "control_plane_latency",
    "ingest_outage",
    "adapter_restart",
    "add_replica",
    "remove_replica",
    "redis_outage",
    "control_plane_errors",
)
CHANGES: tuple[str, ...] = CHANGE_KINDS
"""The actions that change what the control plane says (the fake's change vocabulary,
``fake_anypoint.CHANGES``; enforcement lag is measured for them)."""
PROCESS_EVENTS: tuple[str, ...] = ("adapter_restart", "add_replica", "remove_replica")
"""The actions that act on adapter processes (the engine runs them, not the control plane)."""


class TimelineEvent(ChangeFields):
    """``at`` plus exactly one action key."""

    at: Duration
    name: str | None = None
    control_plane_outage: Window | None = None
    control_plane_latency: LatencyWindow | None = None
    ingest_outage: IngestOutage | None = None
    adapter_restart: AdapterRestart | None = None
    add_replica: AddReplica | None = None
    remove_replica: RemoveReplica | None = None
    redis_outage: RedisOutage | None = None
    control_plane_errors: ErrorWindow | None = None

    @model_validator(mode="after")
    def _one_action(self) -> TimelineEvent:
        given = [a for a in ACTIONS if getattr(self, a) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a timeline event needs exactly one action, got {given or 'none'}: use one of "
                + ", ".join(ACTIONS)
            )
        return self

    @property
    def action(self) -> str:
        return next(a for a in ACTIONS if getattr(self, a) is not None)

    @property
    def payload(self) -> Any:
        return getattr(self, self.action)

    @property
    def change(self) -> Change | None:
        """The control-plane change this event makes, if it is one."""
        return getattr(self, self.action) if self.action in CHANGE_KINDS else None

    @property
    def label(self) -> str:
        return self.name or self.action.replace("_", " ")
