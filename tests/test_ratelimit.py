"""Per-key rate limiting: bursts, refill, independent keys, bounded memory, refusal counts."""

from __future__ import annotations

import pytest

from inspector.ratelimit import Decision, RateLimiter


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_burst_goes_through_then_the_next_is_refused_until_a_token_is_back() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_second=2, burst=5, clock=clock)

    assert [limiter.check("bin:a").allowed for _ in range(5)] == [True] * 5
    refused = limiter.check("bin:a")

    assert refused.allowed is False
    assert refused.retry_after == pytest.approx(0.5)
    assert refused.retry_after_header == "1"


def test_retry_after_is_exact_and_the_request_goes_through_once_it_has_passed() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_second=0.1, burst=1, clock=clock)
    assert limiter.check("k").allowed

    clock.now += 3.0
    decision = limiter.check("k")
    assert decision.allowed is False
    assert decision.retry_after == pytest.approx(7.0)
    assert decision.retry_after_header == "7"

    clock.now += decision.retry_after
    assert limiter.check("k").allowed


def test_retry_after_header_rounds_up_and_is_never_zero() -> None:
    assert Decision(False, 2.01).retry_after_header == "3"
    assert Decision(False, 0.0001).retry_after_header == "1"


def test_tokens_refill_over_time_up_to_the_burst_only() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_second=10, burst=3, clock=clock)
    for _ in range(3):
        assert limiter.check("k").allowed
    assert not limiter.check("k").allowed

    clock.now += 0.1  # one token back
    assert limiter.check("k").allowed
    assert not limiter.check("k").allowed

    clock.now += 60  # long idle: the bucket holds `burst` tokens, not 600
    assert [limiter.check("k").allowed for _ in range(4)] == [True, True, True, False]


def test_a_steady_sender_at_the_rate_is_never_refused() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_second=4, burst=1, clock=clock)
    for _ in range(1000):
        assert limiter.check("k").allowed
        clock.now += 0.25


def test_refusals_use_no_tokens() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_second=1, burst=1, clock=clock)
    assert limiter.check("k").allowed
    for _ in range(50):
        assert not limiter.check("k").allowed
    clock.now += 1
    assert limiter.check("k").allowed


def test_keys_are_independent() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_second=1, burst=2, clock=clock)
    assert limiter.check("bin:a").allowed
    assert limiter.check("bin:a").allowed
    assert not limiter.check("bin:a").allowed

    assert limiter.check("bin:b").allowed
    assert limiter.check("client:203.0.113.7").allowed
    assert limiter.refused("bin:b") == 0


def test_refusals_are_counted_per_key() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_second=1, burst=1, clock=clock)
    for _ in range(4):
        limiter.check("bin:a")
    limiter.check("bin:b")
    limiter.check("bin:b")

    assert limiter.refused("bin:a") == 3
    assert limiter.refused("bin:b") == 1
    assert limiter.refused("bin:unknown") == 0

    clock.now += 10  # counts survive refill
    assert limiter.check("bin:a").allowed
    assert limiter.refused("bin:a") == 3


def test_memory_stays_bounded_by_dropping_the_least_recently_checked_key() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_second=1, burst=1, clock=clock, max_keys=3)
    limiter.check("a")
    limiter.check("b")
    limiter.check("c")
    assert not limiter.check("a").allowed  # "a" is now the most recent; "b" the oldest

    for i in range(1000):
        limiter.check(f"client:{i}")
        assert len(limiter) <= 3

    limiter = RateLimiter(rate_per_second=1, burst=1, clock=clock, max_keys=3)
    for key in ("a", "b", "c"):
        limiter.check(key)
    limiter.check("a")  # refused, and refreshed
    limiter.check("d")  # drops "b"
    assert len(limiter) == 3
    assert not limiter.check("a").allowed  # still limited: it was kept
    assert limiter.refused("a") == 2
    assert limiter.check("b").allowed  # dropped, so it starts afresh


def test_forget_drops_a_key() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_second=1, burst=1, clock=clock)
    limiter.check("bin:a")
    limiter.check("bin:a")
    limiter.forget("bin:a")
    limiter.forget("bin:never-seen")
    assert len(limiter) == 0
    assert limiter.refused("bin:a") == 0
    assert limiter.check("bin:a").allowed


@pytest.mark.parametrize(
    ("rate", "burst", "max_keys", "message"),
    [
        (0, 1, 10, "rate_per_second"),
        (-1, 1, 10, "rate_per_second"),
        (float("nan"), 1, 10, "rate_per_second"),
        (1, 0, 10, "burst"),
        (1, 1, 0, "max_keys"),
    ],
)
def test_nonsense_limits_are_refused(rate: float, burst: int, max_keys: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimiter(rate_per_second=rate, burst=burst, max_keys=max_keys)


def test_the_real_clock_is_the_default() -> None:
    limiter = RateLimiter(rate_per_second=1000, burst=2)
    assert limiter.check("k").allowed
    assert limiter.check("k").allowed


@pytest.mark.parametrize(("rate", "burst"), [(0.3, 1), (3.7, 4), (7, 3), (1000, 50), (1 / 3, 2)])
def test_waiting_exactly_retry_after_is_always_enough(rate: float, burst: int) -> None:
    clock = Clock(now=12345.678)
    limiter = RateLimiter(rate_per_second=rate, burst=burst, clock=clock)
    for _ in range(200):
        decision = limiter.check("k")
        if decision.allowed:
            assert decision.retry_after == 0.0
            continue
        assert 0 < decision.retry_after <= 1 / rate + 1e-9
        clock.now += decision.retry_after
        assert limiter.check("k").allowed
