"""The rate-limit contract every adapter passes, on the real clock: bursts, refill, retry-after, keys."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import MakeLimiter


async def checks(limiter, key: str, count: int) -> list[bool]:
    return [(await limiter.check(key)).allowed for _ in range(count)]


async def test_a_burst_goes_through_then_the_next_is_refused_saying_when_to_retry(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter(2, 5)
    assert await checks(limiter, "bin:a", 5) == [True] * 5
    refused = await limiter.check("bin:a")
    assert refused.allowed is False
    # One token comes back every half second; the checks above took a little of that.
    assert refused.retry_after == pytest.approx(0.5, abs=0.1)
    assert refused.retry_after_header == "1"


async def test_waiting_retry_after_is_enough(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(10, 1)
    assert (await limiter.check("k")).allowed
    refused = await limiter.check("k")
    assert not refused.allowed
    assert 0 < refused.retry_after <= 0.1
    await asyncio.sleep(refused.retry_after + 0.01)
    assert (await limiter.check("k")).allowed


async def test_tokens_refill_over_time_up_to_the_burst_only(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(5, 2)
    assert await checks(limiter, "k", 3) == [True, True, False]
    await asyncio.sleep(1.0)  # five tokens' worth of time: the bucket holds two
    assert await checks(limiter, "k", 3) == [True, True, False]


async def test_refusals_use_no_tokens(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(10, 1)
    assert (await limiter.check("k")).allowed
    assert await checks(limiter, "k", 20) == [False] * 20
    await asyncio.sleep(0.12)
    assert (await limiter.check("k")).allowed


async def test_keys_are_independent(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(1, 2)
    assert await checks(limiter, "bin:a", 3) == [True, True, False]
    assert await checks(limiter, "bin:b", 2) == [True, True]
    assert (await limiter.check("client:203.0.113.7")).allowed


@pytest.mark.parametrize(
    ("rate", "burst", "message"),
    [
        (0, 1, "rate_per_second"),
        (-1, 1, "rate_per_second"),
        (float("nan"), 1, "rate_per_second"),
        (1, 0, "burst"),
    ],
)
async def test_nonsense_limits_are_refused(
    make_limiter: MakeLimiter, rate: float, burst: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_limiter(rate, burst)
