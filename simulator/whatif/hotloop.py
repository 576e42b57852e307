"""The traffic process: requests drawn in chunks and decided inline on their replica's
`DecisionEngine` (judged by the `Oracle`), yielding to SimPy only when another event is due.
Replica state only changes while it is suspended, so it is snapshotted after every yield.
In: `TrafficInputs`; out: the process's value, `TrafficCounters` (reasons: `Reason`)."""

from __future__ import annotations

import heapq
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import simpy

from common.histogram import LogHistogram
from reference_adapter import CheckInput
from simulator.whatif.arrivals import ArrivalStream
from simulator.whatif.counters import QuotaBook, Reason, TrafficCounters
from simulator.whatif.fastlane import fast_lane
from simulator.whatif.oracle import Oracle, stateless
from simulator.whatif.replica import Replica
from simulator.whatif.spec import WhatIfSpec


@dataclass(frozen=True, slots=True)
class TrafficInputs:
    """Everything the hot loop reads: the spec, the SimPy environment, the replicas and the
    oracle, the request pools (one tuple of variants per client), the arrival stream, the
    quotas, the number of bins, whether to memoise (``fast``) and where latencies go."""

    spec: WhatIfSpec
    env: simpy.Environment
    replicas: Sequence[Replica]
    oracle: Oracle
    pools: Sequence[tuple[CheckInput, ...]]
    stream: ArrivalStream
    quotas: QuotaBook
    bins: int
    fast: bool
    latency: LogHistogram
    scaling: bool = False
    """Replicas join or leave: route each request among the replicas in the routing."""


_GATE, _TIMEOUT, _DOWN = int(Reason.GATE), int(Reason.TIMEOUT), int(Reason.DOWN)


def traffic(run: TrafficInputs) -> Generator[simpy.Event, Any, TrafficCounters]:
    """The hot loop (see the module docstring). One function on purpose: it keeps every
    counter in a local variable, which is what makes it fast (docs/whatif.md, Engines)."""
    spec, env = run.spec, run.env
    a = spec.adapter
    reps = run.replicas
    nrep = len(reps)
    pools = [req for pool in run.pools for req in pool]
    nreq = len(pools)
    warmup = spec.warmup
    timeout = a.check_timeout
    heapreplace = heapq.heapreplace
    inv_bin = 1.0 / spec.bin
    nbins = run.bins
    wa_bins = [0] * nbins
    wd_bins = [0] * nbins
    err_bins = [0] * nbins
    nclients = len(run.pools)
    wrong_by_client = [[0, 0] for _ in range(nclients)]
    quota: list[dict[int, int]] = [{} for _ in run.quotas.names]
    qkey = run.quotas.key
    periods = run.quotas.periods
    denied_by = [0] * len(Reason)
    oracle = run.oracle
    odecide = oracle.engine.decide
    following = False
    fast = run.fast
    memo_truth: list[bool | None] = [None] * nreq
    memos: list[list[Any]] = [[None] * nreq for _ in reps]
    versions = [-1] * nrep
    oracle_memo = False
    memo_on = [False] * nrep
    up = [True] * nrep
    decide = [r.engine.decide for r in reps]
    frees = [r.free for r in reps]
    adds = [r.batcher.add for r in reps]
    room = [-1] * nrep  # successful adds until the waiting analytics loop must wake (-1: never)
    n_req = n_allowed = n_err = 0
    first_wrong = last_wrong = -1.0
    busy = 0.0
    rr = 0
    lat_hist = run.latency
    calls = 0
    balancing = a.balancing

    lane = False
    scaling = run.scaling
    act = list(range(nrep))

    def refresh() -> None:
        nonlocal oracle_memo, odecide, following, lane
        if scaling:
            act[:] = [k for k, r in enumerate(reps) if r.active] or [0]
        following = oracle.refresh()
        odecide = oracle.engine.decide
        if fast:
            memo_truth[:] = [None] * nreq
            oracle_memo = stateless(oracle.engine)
        for k, r in enumerate(reps):
            up[k] = r.up
            b = r.batcher
            if r.up and r.waiting and b.pending is None:
                buffered = b.buffered
                room[k] = 1 if buffered == 0 else max(1, r.batch_size - buffered)
            else:
                room[k] = -1
            if versions[k] != r.version:
                versions[k] = r.version
                decide[k] = r.engine.decide
                frees[k] = r.free
                adds[k] = r.batcher.add
                memos[k][:] = [None] * nreq
                memo_on[k] = fast and stateless(r.engine)
        lane = nrep == 1 and following and memo_on[0] and up[0]

    refresh()
    horizon = env.peek()
    until = spec.traffic.until
    end = spec.duration if until is None else min(until, spec.duration)
    for chunk in run.stream.chunks(0.0, end):
        n = len(chunk.times)
        if nrep == 1:
            routes = [0] * n
        elif balancing == "random":
            routes = chunk.replicas
        elif balancing == "round_robin":
            routes = list(range(rr, rr + n)) if scaling else [(rr + j) % nrep for j in range(n)]
            rr += n
        else:
            routes = chunk.clients if scaling else [c % nrep for c in chunk.clients]
        lats: list[float] = []
        append = lats.append
        busy += sum(chunk.services)
        times, requests, services = chunk.times, chunk.requests, chunk.services
        clients = chunk.clients
        i = 0
        while i < n:
            first = i
            if lane and times[i] >= warmup:
                i, room[0], got, made, woke = fast_lane(
                    i, times, requests, services, horizon, timeout, memos[0], pools,
                    decide[0], frees[0], reps[0].batcher, room[0], append,
                )  # fmt: skip
                n_req += i - first
                n_allowed += got
                calls += made
                if woke:
                    yield env.timeout(times[i - 1] - env.now)
                    reps[0].poke("analytics")
                    horizon = env.peek()
                    refresh()
                    continue
                if i >= n:
                    break
                if times[i] >= horizon:
                    yield env.timeout(times[i] - env.now)
                    horizon = env.peek()
                    refresh()
                    continue
                first = i
                stop = i + 1  # a check that times out: the general loop takes it
            else:
                stop = n
            for j in range(first, stop):
                t, ci, g, k, service = times[j], clients[j], requests[j], routes[j], services[j]
                if t >= horizon:
                    yield env.timeout(t - env.now)
                    horizon = env.peek()
                    refresh()
                if scaling:
                    k = act[k % len(act)]
                if lane and j > first and t >= warmup:
                    stop = j
                    break
                req = pools[g]
                if following:
                    truth = None  # the replica's verdict, below
                elif oracle_memo:
                    truth = memo_truth[g]
                    if truth is None:
                        truth = memo_truth[g] = odecide(req, t).allowed
                        calls += 1
                else:
                    truth = odecide(req, t).allowed
                    calls += 1
                if up[k]:
                    if memo_on[k]:
                        d = memos[k][g]
                        if d is None:
                            d = memos[k][g] = decide[k](req, t)
                            calls += 1
                    else:
                        d = decide[k](req, t)
                        calls += 1
                    allowed = d.allowed
                    if truth is None:
                        truth = allowed
                    free = frees[k]
                    start = free[0]
                    if start < t:
                        start = t
                    fin = start + service
                    heapreplace(free, fin)
                    lat = fin - t
                    reason = 0
                    if lat > timeout:
                        allowed = False
                        reason = _TIMEOUT
                    elif not allowed and d.status == 503:
                        reason = _GATE
                    if adds[k](t):
                        left = room[k] - 1
                        room[k] = left
                        if left == 0:  # the first event, or a full batch: the flush is due now
                            yield env.timeout(t - env.now)
                            reps[k].poke("analytics")
                            horizon = env.peek()
                            refresh()
                    if t < warmup:
                        continue
                    append(lat)
                else:
                    allowed = False
                    reason = _DOWN
                    if t < warmup:
                        continue
                n_req += 1
                if reason >= _TIMEOUT:
                    n_err += 1
                    err_bins[int(t * inv_bin)] += 1
                if allowed:
                    n_allowed += 1
                    if truth:
                        continue
                    wa_bins[int(t * inv_bin)] += 1
                    wrong_by_client[ci][0] += 1
                    delta = 1
                elif truth:
                    wd_bins[int(t * inv_bin)] += 1
                    wrong_by_client[ci][1] += 1
                    denied_by[reason] += 1
                    delta = -1
                else:
                    continue
                if first_wrong < 0:
                    first_wrong = t
                last_wrong = t
                q = quota[qkey[ci]]
                w = int(t / periods[ci])
                q[w] = q.get(w, 0) + delta
            i = stop
        lat_hist.add_many(lats)
    return TrafficCounters(
        requests=n_req,
        allowed=n_allowed,
        errors=n_err,
        wrongly_allowed_bins=tuple(wa_bins),
        wrongly_denied_bins=tuple(wd_bins),
        error_bins=tuple(err_bins),
        wrong_by_client=tuple((x, y) for x, y in wrong_by_client),
        quota=tuple(quota),
        wrongly_denied_by={r: denied_by[r] for r in Reason},
        first_wrong=first_wrong if first_wrong >= 0 else None,
        last_wrong=last_wrong if last_wrong >= 0 else None,
        busy=busy,
        decide_calls=calls,
    )
