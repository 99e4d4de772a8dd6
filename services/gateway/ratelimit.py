"""Token buckets per API key: in memory for one replica, in Redis (one Lua call) for many."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from shared.errors import AppError

# Refill, take one token and report what is left, atomically on the Redis server.
_LUA_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(tokens)}
"""


@dataclass(frozen=True)
class Decision:
    """The outcome of taking one token: allowed or not, and the bucket's state."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    retry_after_s: int

    def headers(self) -> dict[str, str]:
        """RateLimit headers (draft-ietf-httpapi-ratelimit-headers, three-field form)."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The same headers, as ASGI header pairs."""
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_s).encode()),
        ]


def _decision(allowed: bool, tokens: float, rate: float, burst: int) -> Decision:
    missing = max(0.0, 1.0 - tokens)
    return Decision(
        allowed=allowed,
        limit=burst,
        remaining=max(0, int(tokens)),
        reset_s=max(0, math.ceil((burst - tokens) / rate)),
        retry_after_s=0 if allowed else max(1, math.ceil(missing / rate)),
    )


class RateLimiter(Protocol):
    """Takes one token from a key's bucket."""

    async def take(self, key_id: str, rate: float, burst: int) -> Decision:
        """One request's worth."""
        ...


class MemoryRateLimiter:
    """Buckets in this process (one replica). No lock needed: the event loop is one thread."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, key_id: str, rate: float, burst: int) -> Decision:
        """Refill by elapsed time, then take one token if there is one."""
        return self.take_now(key_id, rate, burst)

    def take_now(self, key_id: str, rate: float, burst: int) -> Decision:
        """The synchronous core (the hot path calls this without an await)."""
        now = time.monotonic()
        tokens, ts = self._buckets.get(key_id, (float(burst), now))
        tokens = min(float(burst), tokens + (now - ts) * rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key_id] = (tokens, now)
        return _decision(allowed, tokens, rate, burst)


class RedisRateLimiter:
    """Buckets in Redis, so every gateway replica draws from the same one."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_LUA_TAKE)

    async def take(self, key_id: str, rate: float, burst: int) -> Decision:
        """One EVALSHA round trip."""
        allowed, tokens = await self._script(
            keys=[f"{self._prefix}rl:{key_id}"], args=[rate, burst, time.time()]
        )
        return _decision(bool(int(allowed)), float(tokens), rate, burst)


class RateLimited(AppError):
    """429 with Retry-After and the RateLimit headers."""

    status, code, title = 429, "rate-limited", "Too many requests"

    def __init__(self, decision: Decision) -> None:
        super().__init__(
            f"rate limit of {decision.limit} requests burst exceeded; "
            f"retry in {decision.retry_after_s} s",
            headers={"Retry-After": str(decision.retry_after_s), **decision.headers()},
        )
