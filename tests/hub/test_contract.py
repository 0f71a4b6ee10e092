"""The hub contract every adapter passes: ordered fan-out per bin, isolation, slow subscribers ended."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest

from inspector.hub import Event, Hub

from .conftest import MakeHub
from .helpers import collect, request


async def test_subscribers_get_their_bins_events_in_order(hub: Hub) -> None:
    async with hub.subscribe("a") as first, hub.subscribe("a") as second:
        for n in range(1, 101):
            await hub.publish(request("a", n))
        expected = list(range(1, 101))
        assert [e.request_id for e in await collect(first, 100)] == expected
        assert [e.request_id for e in await collect(second, 100)] == expected


async def test_concurrent_publishes_each_arrive_once_in_the_order_they_were_made(hub: Hub) -> None:
    async with hub.subscribe("a") as subscription:
        await asyncio.gather(*(hub.publish(request("a", n)) for n in range(1, 501)))
        assert [e.request_id for e in await collect(subscription, 500)] == list(range(1, 501))
        with pytest.raises(TimeoutError):  # and nothing twice
            await collect(subscription, 1, within=0.2)


async def test_bins_are_isolated(hub: Hub) -> None:
    async with hub.subscribe("a") as a, hub.subscribe("b") as b:
        for n in range(1, 4):
            await hub.publish(request("a", n))
            await hub.publish(request("b", 10 + n))
        await hub.publish(Event(kind="bin_cleared", bin_id="b"))
        assert [(e.bin_id, e.request_id) for e in await collect(a, 3)] == [("a", 1), ("a", 2), ("a", 3)]
        assert [(e.bin_id, e.kind, e.request_id) for e in await collect(b, 4)] == [
            ("b", "request", 11),
            ("b", "request", 12),
            ("b", "request", 13),
            ("b", "bin_cleared", None),
        ]
        # Nothing of b's reached a: the next thing a sees is its own next event.
        await hub.publish(request("a", 4))
        assert [e.request_id for e in await collect(a, 1)] == [4]


async def test_events_before_subscribing_are_not_delivered(hub: Hub) -> None:
    await hub.publish(request("a", 1))
    async with hub.subscribe("a") as subscription:
        await hub.publish(request("a", 2))
        assert [e.request_id for e in await collect(subscription, 1)] == [2]


async def test_subscribe_all_gets_background_and_cache_events_only(hub: Hub) -> None:
    async with hub.subscribe_all() as worker, hub.subscribe("a") as page:
        published = [
            request("a", 1),
            request("a", 2, background=True),
            Event(kind="request_checked", bin_id="a", request_id=2),
            Event(kind="request_forwarded", bin_id="a", request_id=2),
            Event(kind="request_deleted", bin_id="a", request_id=1),
            Event(kind="bin_cleared", bin_id="a"),
            Event(kind="bin_changed", bin_id="b"),
            request("c", 3, background=True),
            Event(kind="bin_deleted", bin_id="a"),
        ]
        for event in published:
            await hub.publish(event)
        assert await collect(worker, 4) == [published[1], published[6], published[7], published[8]]
        # A bin's page sees all of that bin's events, background or not.
        assert await collect(page, 7) == [e for e in published if e.bin_id == "a"]


async def test_a_subscriber_that_falls_behind_is_ended_and_later_ones_still_work(make_hub: MakeHub) -> None:
    hub = await make_hub(max_pending=3)
    async with hub.subscribe("a") as slow:
        async with hub.subscribe("a") as witness:
            for n in range(1, 11):
                await hub.publish(request("a", n))
                # The witness keeps up, so once it has an event the slow one was offered it too.
                assert [e.request_id for e in await collect(witness, 1)] == [n]
        # Ended rather than waited for: iteration stops, nothing after the overflow arrives.
        assert await collect(slow, 10) == []
    async with hub.subscribe("a") as later:
        await hub.publish(request("a", 11))
        assert [e.request_id for e in await collect(later, 1)] == [11]


async def test_a_dropped_subscriber_gets_no_events_after_a_gap(make_hub: MakeHub) -> None:
    """Whatever reaches a subscriber that falls behind is a prefix of what was published.

    A client resumes after the last id it saw; an event skipped before later ones were
    delivered would never come back through that catch-up.
    """
    hub = await make_hub(max_pending=3)
    async with hub.subscribe("a") as slow, hub.subscribe("a") as witness:
        await hub.publish(request("a", 1))
        assert [e.request_id for e in await collect(slow, 1)] == [1]
        for n in range(2, 12):
            await hub.publish(request("a", n))
            await collect(witness, 1 if n > 2 else 2)
        rest = [e.request_id for e in await collect(slow, 20)]
        received = [1, *rest]
        assert received == list(range(1, len(received) + 1))
        assert len(received) < 11


async def test_many_subscribers_of_one_bin_each_receive_every_event_once(hub: Hub) -> None:
    async with AsyncExitStack() as stack:
        subscriptions = [await stack.enter_async_context(hub.subscribe("a")) for _ in range(50)]
        for n in range(1, 6):
            await hub.publish(request("a", n))
        await hub.publish(Event(kind="bin_cleared", bin_id="a"))  # a marker: nothing comes between
        for subscription in subscriptions:
            events = await collect(subscription, 6)
            assert [(e.kind, e.request_id) for e in events] == [
                *[("request", n) for n in range(1, 6)],
                ("bin_cleared", None),
            ]


async def test_leaving_does_not_disturb_the_others(hub: Hub) -> None:
    async with hub.subscribe("a") as staying:
        async with hub.subscribe("a") as leaving:
            await hub.publish(request("a", 1))
            assert [e.request_id for e in await collect(leaving, 1)] == [1]
        await hub.publish(request("a", 2))
        assert [e.request_id for e in await collect(staying, 2)] == [1, 2]
    # The last one left; a newcomer is subscribed afresh.
    async with hub.subscribe("a") as newcomer:
        await hub.publish(request("a", 3))
        assert [e.request_id for e in await collect(newcomer, 1)] == [3]


async def test_close_ends_every_subscription(hub: Hub) -> None:
    async with hub.subscribe("a") as page, hub.subscribe_all() as worker:
        waiters = [asyncio.create_task(collect(s, 1)) for s in (page, worker)]
        await asyncio.sleep(0)
        await hub.close()
        assert await asyncio.gather(*waiters) == [[], []]


async def test_an_open_hub_is_healthy(hub: Hub) -> None:
    await hub.ping()
