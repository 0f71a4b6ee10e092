"""Fan-out to this process's subscribers through one bounded queue each, shared by every hub adapter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from inspector.hub.base import Event, Subscription

_CLOSED = None
# Workers (subscribe_all) see every capture of every bin: they get this many times more room
# before they count as behind.
ALL_ROOM = 10


class QueueSubscription(Subscription):
    """One subscriber's events, queued until it reads them; ended when the queue overflows."""

    def __init__(self, max_pending: int) -> None:
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(max_pending)

    def offer(self, event: Event) -> bool:
        """Queue an event without waiting; False when the subscriber has fallen too far behind."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def end(self) -> None:
        # Drop everything still queued, not just enough to fit the end marker: delivering events
        # after a gap would move the client's Last-Event-ID past the gap, and its catch-up from the
        # store would never return what was skipped.
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_CLOSED)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (event := await self.queue.get()) is not _CLOSED:
            yield event


class Fanout:
    """The subscribers of this process by key (a bin, or all bins): delivery never waits for one.

    A subscriber that lets its queue fill is ended instead, and catches up from the store when
    it subscribes again.
    """

    def __init__(self) -> None:
        self._subscribers: dict[str, set[QueueSubscription]] = {}

    def add(self, key: str, max_pending: int) -> QueueSubscription:
        subscription = QueueSubscription(max_pending)
        self._subscribers.setdefault(key, set()).add(subscription)
        return subscription

    def count(self, key: str) -> int:
        """How many subscribers `key` has."""
        return len(self._subscribers.get(key, ()))

    def remove(self, key: str, subscription: QueueSubscription) -> bool:
        """Forget a subscriber; True when it was the last of its key (ended ones are already gone)."""
        subscribers = self._subscribers.get(key)
        if subscribers is None or subscription not in subscribers:
            return False
        subscribers.discard(subscription)
        if subscribers:
            return False
        del self._subscribers[key]
        return True

    def deliver(self, key: str, event: Event) -> None:
        subscribers = self._subscribers.get(key)
        for subscription in list(subscribers or ()):
            if not subscription.offer(event):
                subscribers.discard(subscription)  # type: ignore[union-attr]
                subscription.end()

    def end_all(self) -> None:
        """End every subscription (the hub closes, or lost its broker) and forget them all."""
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.end()
        self._subscribers.clear()
