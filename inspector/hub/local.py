"""The default hub: in-process queues, for a single server process."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from inspector.hub.base import Event, Hub, Subscription

_CLOSED = None
# Bin ids never contain "*" (see inspector.bins), so this key cannot clash with a bin.
_ALL = "*"
# Besides captures that need background work, what caches in every process must hear of.
_TO_ALL = frozenset({"bin_changed", "bin_deleted"})


class _QueueSubscription(Subscription):
    def __init__(self, max_pending: int) -> None:
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(max_pending)

    def offer(self, event: Event | None) -> bool:
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


class LocalHub(Hub):
    """Fan-out through one bounded queue per subscriber.

    Publishing never waits for a slow subscriber: one that lets `max_pending` events pile up
    is ended, and catches up from the store when it subscribes again.
    """

    def __init__(self, *, max_pending: int = 1000) -> None:
        self._max_pending = max_pending
        self._subscribers: defaultdict[str, set[_QueueSubscription]] = defaultdict(set)

    async def publish(self, event: Event) -> None:
        for key in (event.bin_id, _ALL) if event.background or event.kind in _TO_ALL else (event.bin_id,):
            subscribers = self._subscribers.get(key)
            for subscription in list(subscribers or ()):
                if not subscription.offer(event):
                    subscribers.discard(subscription)  # type: ignore[union-attr]
                    subscription.end()

    def subscribe(self, bin_id: str) -> AbstractAsyncContextManager[Subscription]:
        return self._subscribe(bin_id, self._max_pending)

    def subscribe_all(self) -> AbstractAsyncContextManager[Subscription]:
        # Workers see every capture of every bin: give them more room before they count as behind.
        return self._subscribe(_ALL, self._max_pending * 10)

    @asynccontextmanager
    async def _subscribe(self, key: str, max_pending: int) -> AsyncIterator[Subscription]:
        subscription = _QueueSubscription(max_pending)
        self._subscribers[key].add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[key]

    async def close(self) -> None:
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.end()
        self._subscribers.clear()
