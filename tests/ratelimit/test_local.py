"""The in-memory limiter beyond the contract: exact on a hand-moved clock, bounded memory, refusal counts."""

from __future__ import annotations

import pytest

from inspector.ratelimit.local import LocalRateLimiter

from .helpers import Clock


async def test_retry_after_is_exact_and_the_request_goes_through_once_it_has_passed() -> None:
    clock = Clock()
    limiter = LocalRateLimiter(rate_per_second=0.1, burst=1, clock=clock)
    assert (await limiter.check("k")).allowed

    clock.now += 3.0
    decision = await limiter.check("k")
    assert decision.allowed is False
    assert decision.retry_after == pytest.approx(7.0)
    assert decision.retry_after_header == "7"

    clock.now += decision.retry_after
    assert (await limiter.check("k")).allowed


async def test_refusals_are_counted_per_key() -> None:
    clock = Clock()
    limiter = LocalRateLimiter(rate_per_second=1, burst=1, clock=clock)
    for _ in range(4):
        await limiter.check("bin:a")
    await limiter.check("bin:b")
    await limiter.check("bin:b")

    assert limiter.refused("bin:a") == 3
    assert limiter.refused("bin:b") == 1
    assert limiter.refused("bin:unknown") == 0

    clock.now += 10  # counts survive refill
    assert (await limiter.check("bin:a")).allowed
    assert limiter.refused("bin:a") == 3


async def test_memory_stays_bounded_by_dropping_the_least_recently_checked_key() -> None:
    clock = Clock()
    limiter = LocalRateLimiter(rate_per_second=1, burst=1, clock=clock, max_keys=3)
    await limiter.check("a")
    await limiter.check("b")
    await limiter.check("c")
    assert not (await limiter.check("a")).allowed  # "a" is now the most recent; "b" the oldest

    for i in range(1000):
        await limiter.check(f"client:{i}")
        assert len(limiter) <= 3

    limiter = LocalRateLimiter(rate_per_second=1, burst=1, clock=clock, max_keys=3)
    for key in ("a", "b", "c"):
        await limiter.check(key)
    await limiter.check("a")  # refused, and refreshed
    await limiter.check("d")  # drops "b"
    assert len(limiter) == 3
    assert not (await limiter.check("a")).allowed  # still limited: it was kept
    assert limiter.refused("a") == 2
    assert (await limiter.check("b")).allowed  # dropped, so it starts afresh


async def test_forget_drops_a_key() -> None:
    clock = Clock()
    limiter = LocalRateLimiter(rate_per_second=1, burst=1, clock=clock)
    await limiter.check("bin:a")
    await limiter.check("bin:a")
    limiter.forget("bin:a")
    limiter.forget("bin:never-seen")
    assert len(limiter) == 0
    assert limiter.refused("bin:a") == 0
    assert (await limiter.check("bin:a")).allowed


def test_max_keys_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_keys"):
        LocalRateLimiter(rate_per_second=1, burst=1, max_keys=0)
