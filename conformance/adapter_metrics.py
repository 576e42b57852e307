"""Reading what an adapter reports about itself on its Prometheus metrics endpoint (the
profile's ``adapter.metrics_url``): the analytics events it dropped
(``asm_analytics_events_dropped_total``, docs/adapter-contract.md §3.5). Parsed with the
Prometheus client's own text-format parser; bounded in size and time."""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

DROPPED = "asm_analytics_events_dropped_total"
MAX_BYTES = 4 * 1024 * 1024
TIMEOUT_S = 2.0


class MetricsError(RuntimeError):
    """The endpoint could not be read or parsed; the message says which and why."""


async def read_counter(url: str, name: str = DROPPED) -> float:
    """The sum of every sample named ``name`` (all labels) at ``url``; 0 when absent."""
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url) as response,
        ):
            if response.status != 200:
                raise MetricsError(f"{url} answered {response.status}")
            body = await response.content.read(MAX_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise MetricsError(f"cannot read {url}: {exc or type(exc).__name__}") from None
    if len(body) > MAX_BYTES:
        raise MetricsError(f"{url} sent more than {MAX_BYTES // (1024 * 1024)} MiB of metrics")
    try:
        families = list(text_string_to_metric_families(body.decode("utf-8")))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MetricsError(f"{url} is not Prometheus text format: {exc}") from None
    return sum(s.value for f in families for s in f.samples if s.name == name)


async def dropped_events(urls: list[str]) -> int:
    """The events every replica reports dropped, summed."""
    values = await asyncio.gather(*(read_counter(url) for url in urls))
    return int(sum(values))
