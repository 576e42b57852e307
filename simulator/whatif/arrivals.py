"""Arrival streams: request times drawn in NumPy chunks (constant, Poisson, bursts, daily curve
by thinning), with the client, variant, replica and service time of each request drawn from
their own seeded streams. The exact and the fast engine read the same chunks."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from simulator.whatif.spec import ArrivalSpec, ServiceTimeSpec

CHUNK = 8192


def rate_at(spec: ArrivalSpec, t: np.ndarray) -> np.ndarray:
    """The arrival rate at times ``t`` (requests per second)."""
    if spec.process == "bursts":
        assert spec.burst_every is not None and spec.burst_length is not None
        assert spec.burst_rate is not None
        phase = np.mod(t, spec.burst_every)
        in_burst = (t >= spec.burst_every) & (phase < spec.burst_length)
        return np.where(in_burst, spec.burst_rate, spec.rate)
    if spec.process == "daily":
        angle = 2.0 * math.pi * (t - spec.peak_at) / spec.period
        return spec.rate * (1.0 + spec.amplitude * np.cos(angle))
    return np.full(t.shape, spec.rate)


def max_rate(spec: ArrivalSpec) -> float:
    if spec.process == "bursts":
        assert spec.burst_rate is not None
        return max(spec.rate, spec.burst_rate)
    if spec.process == "daily":
        return spec.rate * (1.0 + spec.amplitude)
    return spec.rate


@dataclass(slots=True)
class Chunk:
    """Parallel lists for one chunk of requests (plain Python lists: fast to index):
    ``requests`` is ``client * variants + variant``, an index into the flattened pools."""

    times: list[float]
    clients: list[int]
    requests: list[int]
    replicas: list[int]
    services: list[float]


class ArrivalStream:
    """Yields `Chunk`s of requests with ``start <= time < end``."""

    def __init__(
        self,
        spec: ArrivalSpec,
        service: ServiceTimeSpec,
        weights: list[float],
        variants: int,
        replicas: int,
        seed: np.random.SeedSequence,
    ) -> None:
        self.spec = spec
        self.service = service
        total = sum(weights)
        self.cum = np.cumsum(np.asarray(weights, dtype=np.float64) / total)
        self.cum[-1] = 1.0
        self.variants = variants
        self.replicas = replicas
        streams = [np.random.Generator(np.random.PCG64(s)) for s in seed.spawn(5)]
        self._gap, self._thin, self._mix, self._route, self._svc = streams

    def _times(self, last: float, n: int) -> np.ndarray:
        spec = self.spec
        if spec.process == "constant":
            return last + np.arange(1, n + 1, dtype=np.float64) / spec.rate
        peak = max_rate(spec)
        times = last + np.cumsum(self._gap.exponential(1.0 / peak, n))
        if spec.process == "poisson":
            return times
        keep = self._thin.random(n) * peak < rate_at(spec, times)
        # the last candidate moves the clock even when rejected
        kept: np.ndarray = times[keep]
        self._last_candidate = float(times[-1])
        return kept

    def _services(self, n: int) -> np.ndarray:
        s = self.service
        if s.distribution == "constant":
            return np.full(n, s.mean)
        if s.distribution == "exponential":
            return self._svc.exponential(s.mean, n)
        mu = math.log(s.mean) - s.sigma * s.sigma / 2.0
        return self._svc.lognormal(mu, s.sigma, n)

    def chunks(self, start: float, end: float) -> Iterator[Chunk]:
        last = start
        while last < end:
            self._last_candidate = math.nan
            times = self._times(last, CHUNK)
            last = float(times[-1]) if math.isnan(self._last_candidate) else self._last_candidate
            times = times[times < end]
            n = int(times.size)
            if n == 0:
                continue
            clients = np.searchsorted(self.cum, self._mix.random(n), side="right")
            np.minimum(clients, self.cum.size - 1, out=clients)
            variant = self._mix.integers(0, self.variants, n)
            yield Chunk(
                times.tolist(),
                clients.tolist(),
                (clients * self.variants + variant).tolist(),
                self._route.integers(0, self.replicas, n).tolist(),
                self._services(n).tolist(),
            )
