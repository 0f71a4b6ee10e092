"""Rate limits shared by every server process through Redis: GCRA run atomically in a Lua script."""

from __future__ import annotations

import time

import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from inspector.ratelimit.base import ALLOWED, Decision, RateLimiter

log = structlog.get_logger(__name__)

# The arithmetic of Gcra.take, restated in Lua because it must run inside Redis to be atomic
# (read the TAT, decide, write it back, in one round trip). Keep the two in step.
# Time is Redis's own clock: the processes sharing a budget may run on hosts whose clocks differ.
# KEYS[1]: the key's TAT; ARGV: interval, window, tolerance (seconds).
# Returns {1} when allowed, {0, retry_after} when refused (a string: Lua numbers become integers).
GCRA_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval, window, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local due = tat + interval
if due - now > tolerance then
  return {0, string.format('%.6f', due - now - window)}
end
-- Past its TAT a key is a full bucket, the same as no key: let Redis forget it then.
redis.call('SET', KEYS[1], string.format('%.6f', due), 'PX', math.ceil((due - now) * 1000) + 1)
return {1}
"""

# While Redis is unreachable, say so at most this often (every capture would otherwise log it).
_WARN_EVERY = 30.0


class RedisRateLimiter(RateLimiter):
    """One TAT per key in Redis under `{prefix}:rate:{name}:{key}`, expiring once the bucket is full.

    If Redis cannot be reached the check lets the request through and logs: an outage of the
    shared limiter must not stop captures, which are the point of the server.
    """

    def __init__(
        self,
        url: str,
        rate_per_second: float,
        burst: int,
        *,
        name: str,
        prefix: str = "inspector",
        timeout: float = 1.0,
    ) -> None:
        super().__init__(rate_per_second, burst)
        self._key_prefix = f"{prefix}:rate:{name}:"
        # Checked on the capture path: fail fast, but ride over one closed connection.
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 1)
        )
        self._script = self._redis.register_script(GCRA_SCRIPT)
        gcra = self.gcra
        self._args = (repr(gcra.interval), repr(gcra.window), repr(gcra.tolerance))
        self._warned_at = -_WARN_EVERY

    def key(self, key: str) -> str:
        """The Redis key holding `key`'s TAT."""
        return self._key_prefix + key

    async def check(self, key: str) -> Decision:
        try:
            answer = await self._script(keys=[self.key(key)], args=self._args)
        except (RedisError, OSError) as exc:
            now = time.monotonic()
            if now - self._warned_at >= _WARN_EVERY:
                self._warned_at = now
                log.warning("rate limits not checked: redis is unreachable", error=str(exc))
            return ALLOWED
        if answer[0] == 1:
            return ALLOWED
        return Decision(False, float(answer[1]))

    async def close(self) -> None:
        await self._redis.aclose()
