"""The live engine's oracle: requests observed live (intended send time, client, request
variant, what the client got) judged after the run against the control plane as it was at each
instant, replayed in virtual time with the same timeline at the times the changes were really
applied. Gives the same `TrafficCounters` as the virtual hot loop, each change's time to
consistency, and the wrong decisions no documented sync lag explains (``wrong_beyond_lag``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from common.clock import ManualClock
from reference_adapter import CheckInput, DecisionEngine
from simulator.whatif.controlplane import ControlPlaneModel
from simulator.whatif.counters import QuotaBook, Reason, Tally, TrafficCounters
from simulator.whatif.result import ChangeLag
from simulator.whatif.spec import WhatIfSpec
from simulator.whatif.sync_apply import apply_contracts, apply_policies
from simulator.whatif.timeline import CHANGES, TimelineEvent
from simulator.whatif.windows import FastWindows

QUOTA_STATUS = 429


@dataclass(frozen=True, slots=True)
class Observed:
    """One live request: intended send time (s from the start), client index, request index
    (``client * variants + variant``), and what the client saw: ``outcome`` is ``allowed``,
    ``denied`` or ``error`` (the check failed or timed out), ``status`` the HTTP status."""

    t: float
    client: int
    request: int
    outcome: str
    status: int
    sent: float | None = None
    """When it was really sent (s from the start; None: at ``t``). The judge uses it: the
    adapter saw the request then, however late the generator was (latency still counts from
    ``t``)."""

    @property
    def at(self) -> float:
        return self.t if self.sent is None else self.sent


@dataclass(frozen=True, slots=True)
class Applied:
    """A timeline event as the live run applied it: when (s from the start) and what."""

    t: float
    event: TimelineEvent


@dataclass
class Verdict:
    """What the judge found: the counters, each change's time to consistency, and the wrong
    decisions that no state of the last ``allowed lag`` explains."""

    counters: TrafficCounters
    changes: list[ChangeLag]
    wrong_beyond_lag: int
    beyond_lag_times: list[float] = field(default_factory=list)
    beyond_lag_examples: list[str] = field(default_factory=list)
    """The first few of them, each as "when, which client, what it got, what was right"."""


@dataclass
class _Stale:
    """The control plane's state before a change, acceptable until ``until``."""

    engine: DecisionEngine
    until: float


def allowed_lag(spec: WhatIfSpec, kind: str, slack: float) -> float:
    """How long the adapter may keep enforcing the old state after a change of ``kind``: one
    sync interval of that kind (a contract of a new policy waits for both), plus ``slack``."""
    a = spec.adapter
    if kind == "contracts":
        return a.contracts_interval + slack
    return a.policies_interval + a.contracts_interval + slack


class _Truth:
    """The oracle: a `DecisionEngine` reloaded from the replayed control plane."""

    def __init__(self, cp: ControlPlaneModel) -> None:
        self.cp = cp
        self.engine = self.build(FastWindows())

    def build(self, store: FastWindows) -> DecisionEngine:
        engine = DecisionEngine("disabled", shared_windows=store)
        apply_policies(engine, self.cp.read_policies())
        apply_contracts(engine, self.cp.read_contracts(dict.fromkeys(engine.api_ids())))
        return engine

    def fork(self) -> DecisionEngine:
        """A frozen copy of the current state (its own copy of the counters)."""
        store = self.engine.shared_windows
        copy = store.copy() if isinstance(store, FastWindows) else FastWindows()
        return self.build(copy)

    def reload(self) -> None:
        apply_policies(self.engine, self.cp.read_policies())
        apply_contracts(self.engine, self.cp.read_contracts(dict.fromkeys(self.engine.api_ids())))


def _outage_extension(spec: WhatIfSpec, applied: Sequence[Applied], start: float) -> float:
    """Seconds of control-plane outage (or errors) after ``start``: the lag clock stops."""
    total = 0.0
    for a in applied:
        window = a.event.control_plane_outage or a.event.control_plane_errors
        if window is not None and a.t + window.duration > start:
            total += a.t + window.duration - max(a.t, start)
    return total


class _Lag:
    """Time to consistency of one change: the last affected request (old and new verdicts
    differ) that still got the old verdict."""

    def __init__(self, label: str, at: float, kind: str, old: DecisionEngine) -> None:
        self.label, self.at, self.kind, self.old = label, at, kind, old
        self.last_old: float | None = None
        self.affected = 0
        self.consistent = False

    def see(self, req: CheckInput, t: float, truth: bool, observed: bool) -> None:
        if self.old.decide(req, t).allowed == truth:
            return
        self.affected += 1
        self.consistent = observed == truth
        if not self.consistent:
            self.last_old = t

    def result(self) -> ChangeLag:
        """None when no request told the states apart, or the last one still got the old
        verdict (never consistent within the run)."""
        if self.affected == 0 or not self.consistent:
            return ChangeLag(self.label, self.at, self.kind, None)
        return ChangeLag(
            self.label, self.at, self.kind, max(0.0, (self.last_old or self.at) - self.at)
        )


def judge(
    spec: WhatIfSpec,
    pools: Sequence[CheckInput],
    observed: Sequence[Observed],
    applied: Sequence[Applied],
    book: QuotaBook,
    bins: int,
    *,
    lag_slack: float = 1.0,
) -> Verdict:
    """Judge ``observed`` (sorted by ``t``) against the control plane of ``spec`` with the
    ``applied`` changes; ``pools`` are the requests by index."""
    clock = ManualClock()
    cp = ControlPlaneModel(spec.control_plane, clock, spec.seed)
    truth = _Truth(cp)
    tally = Tally(spec, book, bins)
    changes = sorted((a for a in applied if a.event.action in CHANGES), key=lambda a: a.t)
    grace = _cold_start_windows(spec, applied, lag_slack)
    stale: list[_Stale] = []
    lags: list[_Lag] = []
    beyond: list[float] = []
    examples: list[str] = []
    nxt = 0
    for obs in observed:
        while nxt < len(changes) and changes[nxt].t <= obs.at:
            change = changes[nxt]
            clock.set(change.t)
            before, before_too = truth.fork(), truth.fork()
            kind = cp.apply(change.event) or "policies"
            truth.reload()
            until = change.t + allowed_lag(spec, kind, lag_slack)
            until += _outage_extension(spec, applied, change.t)
            stale.append(_Stale(before, until))
            lags.append(_Lag(change.event.label, change.t, kind, before_too))
            nxt += 1
        if obs.t < spec.warmup:
            continue
        req = pools[obs.request]
        expected = truth.engine.decide(req, obs.at)
        right = expected.allowed
        allowed = obs.outcome == "allowed"
        reason = Reason.POLICY
        if obs.outcome == "error":
            reason = Reason.TIMEOUT
        elif not allowed and obs.status == 503:
            reason = Reason.GATE
        tally.count(obs.at, obs.client, allowed, right, reason)
        for lag in lags[-1:]:
            lag.see(req, obs.at, right, allowed)
        # quota verdicts (429) depend on window phases and per-replica counting: they are
        # judged by the quota overshoot, not one by one
        quota = expected.status == QUOTA_STATUS or obs.status == QUOTA_STATUS
        wrong = allowed != right and obs.outcome != "error" and not quota
        if wrong and not _explained(stale, grace, req, obs, allowed):
            beyond.append(obs.at)
            if len(examples) < 5:
                got = f"{obs.outcome} {obs.status}" if obs.status else obs.outcome
                right_word = "allowed" if right else f"denied {expected.status}"
                examples.append(
                    f"at {obs.at:.2f} s client {obs.client} got {got}, not {right_word}"
                )
    lag_results = [lag.result() for lag in lags]
    return Verdict(tally.counters(), lag_results, len(beyond), beyond[:50], examples)


def _cold_start_windows(
    spec: WhatIfSpec, applied: Sequence[Applied], slack: float
) -> list[tuple[float, float]]:
    """When a gatekeeper 503 is documented behaviour: from a replica's (re)start until its
    first sync may have happened (policies, then contracts), and through a strict outage."""
    first_sync = allowed_lag(spec, "policies", slack)
    out = []
    for a in applied:
        e = a.event
        if e.adapter_restart is not None and e.adapter_restart.downtime is not None:
            start = a.t + e.adapter_restart.downtime
            out.append((start, start + first_sync))
        elif e.add_replica is not None:
            out.append((a.t, a.t + first_sync))
        elif spec.adapter.gatekeeper == "strict":
            window = e.control_plane_outage or e.control_plane_errors or e.control_plane_latency
            if window is not None:
                out.append((a.t, a.t + window.duration + first_sync))
    return out


def _explained(
    stale: list[_Stale],
    grace: list[tuple[float, float]],
    req: CheckInput,
    obs: Observed,
    allowed: bool,
) -> bool:
    """Whether a state still within its allowed lag gives the observed verdict; a gatekeeper
    503 is explained within a cold-start window or while a change is within its lag."""
    live = [s for s in stale if obs.at < s.until]
    if obs.status == 503 and not allowed:
        return bool(live) or any(start <= obs.at < end for start, end in grace)
    return any(s.engine.decide(req, obs.at).allowed == allowed for s in live)
