"""The GCRA arithmetic every limiter decides by (the Redis adapter's Lua restates it), by hand-set times."""

from __future__ import annotations

import pytest

from inspector.ratelimit import Decision, Gcra


def run(gcra: Gcra, times: list[float], tat: float = 0.0) -> list[Decision]:
    decisions = []
    for now in times:
        decision, tat = gcra.take(tat, now)
        decisions.append(decision)
    return decisions


def test_a_burst_at_one_instant_then_a_refusal_saying_when() -> None:
    decisions = run(Gcra(2, 5), [1000.0] * 6)
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert decisions[-1].retry_after == pytest.approx(0.5)


def test_a_refusal_leaves_the_tat_as_it_was() -> None:
    gcra = Gcra(1, 1)
    _, tat = gcra.take(0.0, 1000.0)
    decision, after = gcra.take(tat, 1000.2)
    assert not decision.allowed
    assert after == tat
    assert decision.retry_after == pytest.approx(0.8)


def test_retry_after_header_rounds_up_and_is_never_zero() -> None:
    assert Decision(False, 2.01).retry_after_header == "3"
    assert Decision(False, 7.0).retry_after_header == "7"
    assert Decision(False, 0.0001).retry_after_header == "1"


def test_a_steady_sender_at_the_rate_is_never_refused() -> None:
    decisions = run(Gcra(4, 1), [1000 + n * 0.25 for n in range(1000)])
    assert all(d.allowed for d in decisions)


def test_a_long_idle_key_holds_burst_tokens_not_more() -> None:
    gcra = Gcra(10, 3)
    _, tat = gcra.take(0.0, 1000.0)
    assert [d.allowed for d in run(gcra, [1060.0] * 4, tat)] == [True, True, True, False]


@pytest.mark.parametrize(("rate", "burst"), [(0.3, 1), (3.7, 4), (7, 3), (1000, 50), (1 / 3, 2)])
def test_waiting_exactly_retry_after_is_always_enough(rate: float, burst: int) -> None:
    gcra = Gcra(rate, burst)
    now, tat = 12345.678, 0.0
    for _ in range(200):
        decision, tat = gcra.take(tat, now)
        if decision.allowed:
            assert decision.retry_after == 0.0
            continue
        assert 0 < decision.retry_after <= 1 / rate + 1e-9
        now += decision.retry_after
        decision, tat = gcra.take(tat, now)
        assert decision.allowed
