"""Rate-limiter fixtures: adapters of each kind, the Redis ones under a prefix no other test uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from conftest import REDIS_URL, require_service, unique_prefix

from inspector.ratelimit import RateLimiter
from inspector.ratelimit.local import LocalRateLimiter
from inspector.ratelimit.redis import RedisRateLimiter

MakeLimiter = Callable[[float, int], RateLimiter]


@pytest.fixture(params=["local", "redis"])
async def make_limiter(request: pytest.FixtureRequest) -> AsyncIterator[MakeLimiter]:
    """Makes limiters of the parametrized kind on the real clock, all closed at the end."""
    if request.param == "redis":
        require_service("Redis", 6379)
    prefix = unique_prefix()
    made: list[RateLimiter] = []

    def make(rate_per_second: float, burst: int) -> RateLimiter:
        limiter: RateLimiter = (
            LocalRateLimiter(rate_per_second, burst)
            if request.param == "local"
            else RedisRateLimiter(REDIS_URL, rate_per_second, burst, name="test", prefix=prefix)
        )
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.close()
