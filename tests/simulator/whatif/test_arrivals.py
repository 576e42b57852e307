"""Arrival streams: counts and rates of each process, seeded reproducibility."""

from __future__ import annotations

import numpy as np

from simulator.whatif.arrivals import ArrivalStream
from simulator.whatif.spec import ArrivalSpec, ServiceTimeSpec


def times(spec: dict[str, object], end: float, seed: int = 1) -> np.ndarray:
    stream = ArrivalStream(
        ArrivalSpec.model_validate(spec),
        ServiceTimeSpec(),
        [1.0, 3.0],
        4,
        2,
        np.random.SeedSequence(seed),
    )
    out = [t for chunk in stream.chunks(0.0, end) for t in chunk.times]
    return np.asarray(out)


def test_constant_is_evenly_spaced() -> None:
    t = times({"process": "constant", "rate": 100}, 10.0)
    assert t.size == 999 and np.allclose(np.diff(t), 0.01)


def test_poisson_rate_and_gaps() -> None:
    t = times({"process": "poisson", "rate": 1000}, 100.0)
    assert abs(t.size - 100_000) < 1500
    gaps = np.diff(t)
    assert abs(gaps.std() / gaps.mean() - 1.0) < 0.02  # exponential: cv = 1
    assert np.all(gaps > 0) and t[-1] < 100.0


def test_bursts_raise_the_rate_inside_bursts_only() -> None:
    spec = {
        "process": "bursts",
        "rate": 100,
        "burst_rate": 2000,
        "burst_every": 10,
        "burst_length": 2,
    }
    t = times(spec, 60.0)
    in_burst = (t >= 10) & (np.mod(t, 10) < 2)
    assert abs(in_burst.sum() / (5 * 2) - 2000) < 150
    assert abs((~in_burst).sum() / (60 - 10) - 100) < 15


def test_daily_curve_peaks_at_peak_at() -> None:
    spec = {"process": "daily", "rate": 50, "amplitude": 0.8, "peak_at": 3600, "period": 7200}
    t = times(spec, 7200.0)
    peak = ((t > 3000) & (t < 4200)).sum()
    trough = ((t < 600) | (t > 6600)).sum()
    assert peak > 4 * trough
    assert abs(t.size - 50 * 7200) < 3 * (50 * 7200) ** 0.5 + 500


def test_mix_follows_weights_and_seed_reproduces() -> None:
    spec = ArrivalSpec(process="poisson", rate=1000)
    chunks = list(
        ArrivalStream(spec, ServiceTimeSpec(), [1.0, 3.0], 4, 2, np.random.SeedSequence(3)).chunks(
            0.0, 20.0
        )
    )
    clients = np.concatenate([np.asarray(c.clients) for c in chunks])
    assert abs(clients.mean() - 0.75) < 0.02
    again = list(
        ArrivalStream(spec, ServiceTimeSpec(), [1.0, 3.0], 4, 2, np.random.SeedSequence(3)).chunks(
            0.0, 20.0
        )
    )
    assert [c.times for c in chunks] == [c.times for c in again]
