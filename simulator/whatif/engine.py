"""`run_once`: one replication in virtual time. SimPy runs the replicas' sync and analytics
loops, the timeline and the traffic process (`hotloop`); ``fast=True`` memoises stateless
decisions between events (same results, fewer decision calls)."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from simulator.whatif.arrivals import ArrivalStream
from simulator.whatif.controlplane import ControlPlaneModel, VirtualClock
from simulator.whatif.histogram import LogHistogram
from simulator.whatif.hotloop import traffic
from simulator.whatif.ingest import IngestModel
from simulator.whatif.limits import client_limit
from simulator.whatif.oracle import Oracle
from simulator.whatif.recorder import Recorder
from simulator.whatif.replica import Replica
from simulator.whatif.result import RunResult, windows_from_bins
from simulator.whatif.spec import WhatIfSpec
from simulator.whatif.traffic import build_pools
from simulator.whatif.windows import FastWindows


class _Run:
    """The state of one replication (kept on one object so the hot loop reads locals)."""

    def __init__(self, spec: WhatIfSpec, seed: np.random.SeedSequence, fast: bool) -> None:
        self.spec = spec
        self.fast = fast
        self.env = simpy.Environment()
        self.bins = max(1, math.ceil(spec.duration / spec.bin))
        seeds = seed.spawn(3)
        py_seed = int(seeds[1].generate_state(1)[0])
        self.cp = ControlPlaneModel(spec.control_plane, VirtualClock(self.env), spec.seed)
        self.recorder = Recorder(spec.adapter.replicas, self.bins, spec.bin)
        self.ingest = IngestModel(self.bins, spec.bin)
        shared = FastWindows() if spec.adapter.quota == "shared" else None
        self.replicas = [
            Replica(
                i,
                self.env,
                spec,
                self.cp,
                random.Random(py_seed + i),
                self.recorder,
                self.ingest,
                shared,
            )
            for i in range(spec.adapter.replicas)
        ]
        self.oracle = Oracle(self.cp, self.replicas)
        pools = build_pools(spec.traffic, self.cp, py_seed)
        self.pools = [p.requests for p in pools]
        self.labels = [p.label for p in pools]
        self.stream = ArrivalStream(
            spec.traffic.arrival,
            spec.adapter.service_time,
            [c.weight for c in spec.traffic.clients],
            spec.traffic.variants,
            spec.adapter.replicas,
            seeds[0],
        )
        limits = [client_limit(spec, c) for c in spec.traffic.clients]
        self.periods = [lim.period_s if lim else spec.bin for lim in limits]
        keys: dict[str, int] = {}
        self.quota_key = [
            keys.setdefault(lim.key if lim else f"client {c.label}", len(keys))
            for c, lim in zip(spec.traffic.clients, limits, strict=True)
        ]
        self.quota_keys = len(keys)
        self.quota_names = list(keys)
        self.quota_limits = {self.quota_key[i]: lim for i, lim in enumerate(limits) if lim}
        self.latency = LogHistogram()
        self.decide_calls = 0
        self.out: dict[str, Any] = {}

    # ---- processes ----

    def timeline(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        for event in sorted(self.spec.timeline, key=lambda e: e.at):
            yield env.timeout(event.at - env.now)
            if event.action == "adapter_restart":
                restart = event.adapter_restart
                assert restart is not None
                targets = (
                    self.replicas if restart.replica is None else [self.replicas[restart.replica]]
                )
                for replica in targets:
                    if replica.up:
                        env.process(replica.restart(restart.downtime))
                continue
            kind = self.cp.apply(event)
            if kind is not None:
                self.recorder.change(event.label, float(env.now), kind, self.cp.rev)

    # ---- results ----

    def result(self) -> RunResult:
        spec, out, rec, ing = self.spec, self.out, self.recorder, self.ingest
        a = spec.adapter
        held_end = sum(r.finish() for r in self.replicas)
        wa_bins, wd_bins = out["wa_bins"], out["wd_bins"]
        wrongly_allowed = sum(wa_bins)
        wrongly_denied = sum(wd_bins)
        windows = windows_from_bins(wa_bins, wd_bins, spec.bin)
        wrong_window = sum(1 for x, y in zip(wa_bins, wd_bins, strict=True) if x or y) * spec.bin
        lags = [c.lag(a.replicas) for c in rec.changes]
        seen = [x for x in lags if x is not None]
        clients = [
            {
                "client": label,
                "wrongly_allowed": out["wrong_by_client"][ci][0],
                "wrongly_denied": out["wrong_by_client"][ci][1],
            }
            for ci, label in enumerate(self.labels)
        ]
        overshoot_max = 0
        ratio_max: float | None = None
        quotas = []
        for key, lim in self.quota_limits.items():
            net = out["quota"][key]
            over = max([max(0, v) for v in net.values()], default=0)
            ratio = over / lim.maximum if lim.maximum else None
            overshoot_max = max(overshoot_max, over)
            if ratio is not None:
                ratio_max = max(ratio_max or 0.0, ratio)
            quotas.append(
                {
                    "quota": self.quota_names[key],
                    "limit": f"{lim.maximum} per {lim.period_s:g}s",
                    "overshoot_max": over,
                    "windows_over": sum(1 for v in net.values() if v > 0),
                }
            )
        until = spec.traffic.until
        busy_for = spec.duration if until is None else min(until, spec.duration)
        capacity = a.workers * a.replicas * busy_for
        metrics: dict[str, float | None] = {
            "requests": out["n_req"],
            "allowed": out["n_allowed"],
            "wrongly_allowed": wrongly_allowed,
            "wrongly_denied": wrongly_denied,
            "errors": out["n_err"],
            "refused_not_ready": out["reasons"]["gate"],
            "wrong_window_s": wrong_window,
            "first_wrong_s": out["first_wrong"] if out["first_wrong"] >= 0 else None,
            "last_wrong_s": out["last_wrong"] if out["last_wrong"] >= 0 else None,
            "enforcement_lag_s": sum(seen) / len(seen) if seen else None,
            "enforcement_lag_max_s": max(seen) if seen and len(seen) == len(lags) else None,
            "quota_overshoot_max": overshoot_max,
            "quota_overshoot_ratio": ratio_max,
            "analytics_produced": rec.recorded,
            "analytics_delivered": ing.delivered,
            "analytics_dropped": rec.dropped_full + rec.lost_on_restart + rec.rejected,
            "analytics_duplicated": ing.duplicated,
            "analytics_in_buffer_end": held_end,
            "analytics_delay_p50_s": ing.delay.percentile(50),
            "analytics_delay_p99_s": ing.delay.percentile(99),
            "buffer_high_water": rec.high_water,
            "check_latency_p50_ms": _ms(self.latency.percentile(50)),
            "check_latency_p99_ms": _ms(self.latency.percentile(99)),
            "utilisation": out["busy"] / capacity if capacity else None,
            "sync_failures": rec.sync_failures,
        }
        return RunResult(
            metrics=metrics,
            series={
                "wrongly_allowed": [float(x) for x in wa_bins],
                "wrongly_denied": [float(x) for x in wd_bins],
                "errors": [float(x) for x in out["err_bins"]],
                "analytics_delivered": [float(x) for x in ing.per_bin],
                "buffer_held": [float(x) for x in rec.held_series],
            },
            clients=clients,
            quotas=quotas,
            windows=windows,
            changes=[
                {"change": c.label, "at_s": c.at, "kind": c.kind, "lag_s": lag}
                for c, lag in zip(rec.changes, lags, strict=True)
            ],
        )


def config_errors(run: _Run) -> list[str]:
    """Policies the reference adapter cannot configure (their API answers 503 throughout)."""
    out = []
    for api_id, api in run.oracle.engine.status()["apis"].items():
        if api.get("config_error"):
            out.append(f"API {api_id}: {api['config_error']}")
    return out


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def run_once(spec: WhatIfSpec, seed: np.random.SeedSequence, *, fast: bool = False) -> RunResult:
    """Run one replication of ``spec`` with ``seed``; ``fast`` gives the same result sooner
    when every policy chain is stateless."""
    started = time.perf_counter()
    run = _Run(spec, seed, fast)
    run.env.process(run.timeline())
    run.env.process(traffic(run))
    run.env.run(until=spec.duration)
    result = run.result()
    result.warnings = config_errors(run)
    result.wall_s = time.perf_counter() - started
    result.decide_calls = run.decide_calls
    return result


def replication_seed(spec: WhatIfSpec, point: int, replication: int) -> np.random.SeedSequence:
    """The seed of one replication: the spec's seed, the sweep point and the replication."""
    return np.random.SeedSequence([spec.seed, point, replication])
