"""`RedisWindows`: fixed-window counters in Redis, shared by every adapter replica (the
``clusterizable`` quota). One Lua script checks every limit and counts the request only if all
have quota, atomically (INCR + PEXPIRE: a window opens with its first request, like
`InMemoryWindows`). If Redis cannot be reached the replica falls back to its own in-memory
windows (still enforcing, per replica) and counts the fallback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from reference_adapter.contracts import SlaLimit
from reference_adapter.windows import InMemoryWindows, WindowResult

log = logging.getLogger("reference_adapter.redis")

HIT_SCRIPT = """
local n = #KEYS
local allowed = 1
local counts = {}
local ttls = {}
for i = 1, n do
  local maximum = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local ttl = redis.call('PTTL', KEYS[i])
  local count = 0
  if ttl > 0 then
    count = tonumber(redis.call('GET', KEYS[i]) or '0')
  else
    ttl = period
  end
  counts[i] = count
  ttls[i] = ttl
  if count >= maximum then allowed = 0 end
end
if allowed == 1 then
  for i = 1, n do
    local value = redis.call('INCR', KEYS[i])
    if value == 1 or redis.call('PTTL', KEYS[i]) < 0 then
      redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i]))
      ttls[i] = tonumber(ARGV[2 * i])
    end
    counts[i] = value
  end
end
local result = {allowed}
for i = 1, n do
  result[2 * i] = counts[i]
  result[2 * i + 1] = ttls[i]
end
return result
"""


REDIS_TIMEOUT_S = 2.0
"""How long a rate-limit check waits for Redis before counting per replica."""


class RedisWindows:
    """A shared `AsyncWindowCounters` store on Redis (redis-py asyncio)."""

    is_async = True

    def __init__(self, client: aioredis.Redis, prefix: str = "asmkit:rl:") -> None:
        self.client = client
        self.prefix = prefix
        self.fallback = InMemoryWindows()
        self.fallbacks = 0
        self._script = client.register_script(HIT_SCRIPT)

    @classmethod
    def from_url(cls, url: str, prefix: str = "asmkit:rl:") -> RedisWindows:
        """A store on ``url``. Redis counts as unreachable when it refuses the connection (at
        once) or does not answer within ``REDIS_TIMEOUT_S``: long enough that a busy machine
        is not taken for an outage (a timed-out script may still have counted in Redis, and
        then the fallback counts the request a second time)."""
        timeout = REDIS_TIMEOUT_S
        client = aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return cls(client, prefix)

    async def aclose(self) -> None:
        await self.client.aclose()

    def hit(self, key: str, limits: Sequence[SlaLimit], now: float) -> WindowResult:
        """The synchronous path: per-replica counting (virtual time never uses Redis)."""
        return self.fallback.hit(key, limits, now)

    async def hit_async(self, key: str, limits: Sequence[SlaLimit], now: float) -> WindowResult:
        if not limits:
            return WindowResult(True, 0, 0, 0)
        keys = [f"{self.prefix}{key}:{i}" for i in range(len(limits))]
        args: list[Any] = []
        for limit in limits:
            args += [limit.maximum_requests, limit.period_ms]
        try:
            raw = await self._script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            self.fallbacks += 1
            if self.fallbacks == 1 or self.fallbacks % 1000 == 0:
                log.warning("Redis rate-limit store unavailable (%s): counting per replica", exc)
            return self.fallback.hit(key, limits, now)
        allowed = bool(int(raw[0]))
        best: WindowResult | None = None
        for i, limit in enumerate(limits):
            count, ttl = int(raw[2 * i + 1]), int(raw[2 * i + 2])
            remaining = max(0, limit.maximum_requests - count)
            candidate = WindowResult(allowed, limit.maximum_requests, remaining, max(0, ttl))
            if best is None or (remaining, candidate.reset_ms) < (best.remaining, best.reset_ms):
                best = candidate
        return best if best is not None else WindowResult(True, 0, 0, 0)
