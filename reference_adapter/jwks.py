"""`JwksRegistry`: the JWKS key sets the jwt-validation policies need, with TTL and retry
timing (one `SyncSchedule` per URL). I/O-free: the live adapter fetches what `due` lists and
reports with `install` / `failed`; until a set is installed, the policy answers 503."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from reference_adapter.schedule import SyncSchedule


@dataclass(slots=True)
class JwksSource:
    """One JWKS URL: its keys by ``kid`` (None until the first successful fetch)."""

    url: str
    ttl_s: float
    timeout_s: float
    schedule: SyncSchedule
    keys: dict[str | None, Any] | None = None
    fetched_at: float | None = None
    last_error: str | None = None
    fetches: int = field(default=0)


class JwksRegistry:
    """Key sets by URL. An expired set keeps being used while its refetch is retried
    (`research/anypoint.md` §6)."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random(0)
        self.sources: dict[str, JwksSource] = {}
        self.listener: Callable[[], None] | None = None

    def register(self, url: str, ttl_s: float, timeout_s: float) -> JwksSource:
        source = self.sources.get(url)
        if source is None:
            schedule = SyncSchedule(
                max(ttl_s, 0.001),
                self._rng,
                start=float("-inf"),
                backoff_base_s=0.5,
                backoff_max_s=30.0,
            )
            source = self.sources[url] = JwksSource(url, ttl_s, timeout_s, schedule)
            if self.listener is not None:
                self.listener()
        return source

    def due(self, now: float) -> list[JwksSource]:
        """The sources to fetch now."""
        return [s for s in self.sources.values() if s.schedule.is_due(now)]

    def next_due(self) -> float:
        return min((s.schedule.next_due for s in self.sources.values()), default=float("inf"))

    def install(self, url: str, document: Mapping[str, Any], now: float) -> None:
        """Install a fetched JWKS document; raises ValueError (and counts a failure) if it
        holds no usable key."""
        source = self.sources[url]
        try:
            key_set = jwt.PyJWKSet.from_dict(dict(document))
        except (jwt.PyJWKSetError, jwt.InvalidKeyError, KeyError, TypeError, ValueError) as exc:
            self.failed(url, now, f"unusable JWKS: {exc}")
            raise ValueError(f"JWKS at {url} has no usable key: {exc}") from None
        source.keys = {k.key_id: k.key for k in key_set.keys}
        source.fetched_at = now
        source.fetches += 1
        source.last_error = None
        source.schedule.on_success(now)

    def failed(self, url: str, now: float, error: str = "") -> None:
        source = self.sources[url]
        source.last_error = error
        source.schedule.on_failure(now)
