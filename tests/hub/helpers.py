"""What the hub tests share: the Redis they use, unique prefixes, and bounded reading of subscriptions."""

from __future__ import annotations

import asyncio
import uuid

from inspector.hub import Event, Subscription

REDIS_URL = "redis://127.0.0.1:6379/0"
# Redis delivers through the network: every wait for an event is bounded by this.
WAIT = 5.0


def unique_prefix() -> str:
    """A key and channel prefix no other test uses."""
    return f"test-{uuid.uuid4().hex}"


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
