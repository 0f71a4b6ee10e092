"""What the hub tests share: bounded reading of subscriptions."""

from __future__ import annotations

import asyncio

from inspector.hub import Event, Subscription

# Redis delivers through the network: every wait for an event is bounded by this.
WAIT = 5.0


async def collect(subscription: Subscription, count: int, within: float = WAIT) -> list[Event]:
    """The next `count` events, or fewer if the subscription ends; fails after `within` seconds."""
    events: list[Event] = []

    async def read() -> None:
        async for event in subscription:
            events.append(event)
            if len(events) == count:
                return

    await asyncio.wait_for(read(), within)
    return events


def request(bin_id: str, request_id: int, *, background: bool = False) -> Event:
    return Event(kind="request", bin_id=bin_id, request_id=request_id, background=background)
