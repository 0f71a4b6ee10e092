"""The default hub: in-process queues, for a single server process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from inspector.hub.base import Event, Hub, Subscription, reaches_all
from inspector.hub.fanout import ALL_ROOM, Fanout

# Bin ids never contain "*" (see inspector.bins), so this key cannot clash with a bin.
_ALL = "*"


class LocalHub(Hub):
    """Fan-out through one bounded queue per subscriber, within this process.

    Publishing never waits for a slow subscriber: one that lets `max_pending` events pile up
    is ended, and catches up from the store when it subscribes again.
    """

    def __init__(self, *, max_pending: int = 1000) -> None:
        self._max_pending = max_pending
        self._fanout = Fanout()

    async def publish(self, event: Event) -> None:
        self._fanout.deliver(event.bin_id, event)
        if reaches_all(event):
            # Workers and caches read the store; their deeper queues should not keep bodies alive.
            self._fanout.deliver(_ALL, event.for_broker())

    def subscribe(self, bin_id: str) -> AbstractAsyncContextManager[Subscription]:
        return self._subscribe(bin_id, self._max_pending)

    def subscribe_all(self) -> AbstractAsyncContextManager[Subscription]:
        return self._subscribe(_ALL, self._max_pending * ALL_ROOM)

    @asynccontextmanager
    async def _subscribe(self, key: str, max_pending: int) -> AsyncIterator[Subscription]:
        subscription = self._fanout.add(key, max_pending)
        try:
            yield subscription
        finally:
            self._fanout.remove(key, subscription)

    async def close(self) -> None:
        self._fanout.end_all()
