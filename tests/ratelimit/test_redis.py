"""The Redis limiter beyond the contract: one budget for every process, keys that expire, no outage."""

from __future__ import annotations

import socket

import pytest
import redis.asyncio as aioredis
from conftest import REDIS_URL, unique_prefix
from structlog.testing import capture_logs

from inspector.ratelimit.redis import RedisRateLimiter

pytestmark = pytest.mark.usefixtures("redis_required")


async def test_two_limiters_of_one_deployment_share_the_budget() -> None:
    prefix = unique_prefix()
    one = RedisRateLimiter(REDIS_URL, 1, 4, name="bin", prefix=prefix)
    other = RedisRateLimiter(REDIS_URL, 1, 4, name="bin", prefix=prefix)
    try:
        allowed = [(await limiter.check("a")).allowed for limiter in (one, other) * 3]
        assert allowed == [True, True, True, True, False, False]
        # Another limit (per client, say) under the same prefix has a budget of its own.
        clients = RedisRateLimiter(REDIS_URL, 1, 4, name="client", prefix=prefix)
        assert (await clients.check("a")).allowed
        await clients.close()
    finally:
        await one.close()
        await other.close()


async def test_a_keys_state_expires_once_its_bucket_would_be_full(redis: aioredis.Redis) -> None:
    limiter = RedisRateLimiter(REDIS_URL, 2, 3, name="bin", prefix=unique_prefix())
    try:
        assert await redis.exists(limiter.key("a")) == 0
        for _ in range(3):
            await limiter.check("a")
        # Three tokens taken at 2 per second: full again within 1.5 s, and forgotten then.
        assert 0 < await redis.pttl(limiter.key("a")) <= 1501
    finally:
        await limiter.close()


async def test_an_unreachable_redis_lets_captures_through_and_says_so_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{closed_port}/0", 1, 1, name="bin", prefix=unique_prefix())
    try:
        with capture_logs() as logs:
            assert [(await limiter.check("a")).allowed for _ in range(3)] == [True] * 3
        assert [entry["event"] for entry in logs] == ["rate limits not checked: redis is unreachable"]
    finally:
        await limiter.close()
