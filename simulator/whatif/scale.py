"""Scaling a what-if spec for a short live run: every time of the question (duration, warmup,
bins, the timeline, sync and analytics intervals and backoffs, traffic shape, rate-limit
windows) multiplied by ``time``, every arrival rate by ``rate``, and every count that holds
requests or events (rate-limit maximums, analytics batch and buffer) by ``rate * time``, so the
share of traffic over a limit or through a buffer stays the same. Round trips, service times
and timeouts are physical and stay as they are. The virtual prediction runs on the same scaled
spec."""

from __future__ import annotations

from typing import Any

from simulator.whatif.spec import WhatIfSpec

_ADAPTER_TIMES = (
    "policies_interval",
    "keepalive_interval",
    "contracts_interval",
    "sync_backoff_base",
    "sync_backoff_max",
    "analytics_interval",
    "analytics_retry_base",
    "analytics_retry_max",
)
_EVENT_TIMES = ("duration", "downtime")


def _times(node: dict[str, Any], keys: tuple[str, ...], factor: float) -> None:
    for key in keys:
        if node.get(key) is not None:
            node[key] = float(node[key]) * factor


def _count(value: Any, factor: float) -> int:
    return max(1, round(float(value) * factor))


def _limits(node: Any, time: float, count: float) -> None:
    """Rate-limit policies (``rateLimits``) and SLA tier limits, wherever they appear."""
    if isinstance(node, list):
        for item in node:
            _limits(item, time, count)
        return
    if not isinstance(node, dict):
        return
    if "maximumRequests" in node and "timePeriodInMilliseconds" in node:
        node["maximumRequests"] = _count(node["maximumRequests"], count)
        node["timePeriodInMilliseconds"] = _count(node["timePeriodInMilliseconds"], time)
    if "maximum_requests" in node and "time_period_ms" in node:
        node["maximum_requests"] = _count(node["maximum_requests"], count)
        node["time_period_ms"] = _count(node["time_period_ms"], time)
    for value in node.values():
        _limits(value, time, count)


def scale_spec(spec: WhatIfSpec, *, time: float = 1.0, rate: float = 1.0) -> WhatIfSpec:
    """``spec`` with its times multiplied by ``time`` and its rates by ``rate`` (both > 0)."""
    if time <= 0 or rate <= 0:
        raise ValueError(f"time scale {time!r} and rate scale {rate!r} must both be > 0")
    if time == 1.0 and rate == 1.0:
        return spec
    data = spec.model_dump(mode="python", exclude_none=False)
    _times(data, ("duration", "warmup", "bin"), time)
    _times(data["adapter"], _ADAPTER_TIMES, time)
    traffic = data["traffic"]
    _times(traffic, ("until",), time)
    arrival = traffic["arrival"]
    _times(arrival, ("burst_every", "burst_length", "peak_at", "period"), time)
    for key in ("rate", "burst_rate"):
        if arrival.get(key) is not None:
            arrival[key] = float(arrival[key]) * rate
    for event in data["timeline"]:
        event["at"] = float(event["at"]) * time
        for value in event.values():
            if isinstance(value, dict):
                _times(value, _EVENT_TIMES, time)
    count = rate * time
    adapter = data["adapter"]
    adapter["analytics_batch_size"] = _count(adapter["analytics_batch_size"], count)
    adapter["analytics_buffer"] = max(
        adapter["analytics_batch_size"], _count(adapter["analytics_buffer"], count)
    )
    _limits(data["control_plane"], time, count)
    _limits(data["timeline"], time, count)
    data["sweep"] = None
    return WhatIfSpec.model_validate(data)
