"""The in-process hub: ordered fan-out per bin, and slow subscribers dropped instead of waited for."""

from __future__ import annotations

import asyncio

from inspector.hub import Event
from inspector.hub.local import LocalHub


async def collect(subscription, count: int) -> list[Event]:
    events = []
    async for event in subscription:
        events.append(event)
        if len(events) == count:
            break
    return events


async def test_subscribers_get_their_bins_events_in_order() -> None:
    hub = LocalHub()
    async with hub.subscribe("a") as first, hub.subscribe("a") as second, hub.subscribe("b") as other:
        for n in range(1, 4):
            await hub.publish(Event(kind="request", bin_id="a", request_id=n))
        await hub.publish(Event(kind="bin_cleared", bin_id="b"))
        expected = [1, 2, 3]
        assert [e.request_id for e in await collect(first, 3)] == expected
        assert [e.request_id for e in await collect(second, 3)] == expected
        assert [e.kind for e in await collect(other, 1)] == ["bin_cleared"]


async def test_events_before_subscribing_are_not_delivered() -> None:
    hub = LocalHub()
    await hub.publish(Event(kind="request", bin_id="a", request_id=1))
    async with hub.subscribe("a") as subscription:
        await hub.publish(Event(kind="request", bin_id="a", request_id=2))
        assert [e.request_id for e in await collect(subscription, 1)] == [2]


async def test_a_subscriber_that_falls_behind_is_ended_not_waited_for() -> None:
    hub = LocalHub(max_pending=3)
    async with hub.subscribe("a") as slow:
        for n in range(10):
            await hub.publish(Event(kind="request", bin_id="a", request_id=n))
        received = [event async for event in slow]  # ends instead of blocking
        assert len(received) < 10


async def test_close_ends_every_subscription() -> None:
    hub = LocalHub()
    async with hub.subscribe("a") as subscription:
        waiter = asyncio.create_task(collect(subscription, 1))
        await asyncio.sleep(0)
        await hub.close()
        assert await asyncio.wait_for(waiter, 1) == []


async def test_a_dropped_subscriber_gets_no_events_after_a_gap() -> None:
    """Whatever reaches a subscriber that falls behind is a prefix of what was published.

    A client resumes after the last id it saw; an event skipped before later ones were
    delivered would never come back through that catch-up.
    """
    hub = LocalHub(max_pending=3)
    async with hub.subscribe("a") as slow:
        await hub.publish(Event(kind="request", bin_id="a", request_id=1))
        assert [e.request_id for e in await collect(slow, 1)] == [1]
        for n in range(2, 12):
            await hub.publish(Event(kind="request", bin_id="a", request_id=n))
        rest = [event.request_id async for event in slow]
        received = [1, *rest]
        assert received == list(range(1, len(received) + 1))


async def test_background_workers_get_only_events_that_need_them() -> None:
    hub = LocalHub()
    async with hub.subscribe_all() as worker, hub.subscribe("a") as page:
        await hub.publish(Event(kind="request", bin_id="a", request_id=1))
        await hub.publish(Event(kind="request", bin_id="a", request_id=2, background=True))
        assert [e.request_id for e in await collect(worker, 1)] == [2]
        assert [e.request_id for e in await collect(page, 2)] == [1, 2]  # pages see everything
