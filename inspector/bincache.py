"""Bins as every capture and access check reads them: cached here, forgotten when any process changes one."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

import structlog

from inspector.background import BackgroundTasks
from inspector.hub import Event, Hub
from inspector.models import Bin
from inspector.store import Store

log = structlog.get_logger(__name__)


class BinCache:
    """A bounded read-through cache of bins in front of the store.

    Whoever changes a bin calls `changed`: this process forgets it at once, and the hub tells every
    other process (bin_changed, bin_deleted), which forget it too. Entries also expire after `ttl`
    seconds, a bound on staleness should an event be lost; and a lost hub connection empties the
    cache. Misses are not cached: a bin another process just created is found at once.
    """

    def __init__(self, store: Store, hub: Hub, *, max_entries: int = 10_000, ttl: float = 10.0) -> None:
        self._store = store
        self._hub = hub
        self._max_entries = max_entries
        self._ttl = ttl
        self._entries: OrderedDict[str, tuple[float, Bin]] = OrderedDict()
        self._background = BackgroundTasks()

    async def get(self, bin_id: str) -> Bin | None:
        entry = self._entries.get(bin_id)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        bin = await self._store.get_bin(bin_id)
        if bin is None:
            self._entries.pop(bin_id, None)
            return None
        self._entries[bin_id] = (time.monotonic() + self._ttl, bin)
        self._entries.move_to_end(bin_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return bin

    def forget(self, bin_id: str) -> None:
        self._entries.pop(bin_id, None)

    async def changed(self, bin_id: str, *, deleted: bool = False) -> None:
        """Say that a bin's settings changed (or that it is gone), here and in every other process."""
        self.forget(bin_id)
        # Unheard, other processes still catch up within the cache's ttl.
        await self._hub.announce(Event(kind="bin_deleted" if deleted else "bin_changed", bin_id=bin_id))

    def start(self) -> None:
        self._background.start(self._listen(), "bin-cache")

    async def stop(self) -> None:
        await self._background.stop()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._hub.subscribe_all() as events:
                    async for event in events:
                        if event.kind in ("bin_changed", "bin_deleted"):
                            self.forget(event.bin_id)
            except Exception as exc:
                log.warning("bin cache lost the hub", error=str(exc))
            # The subscription ended (fell behind, or the hub reconnects): what it missed is unknown.
            self._entries.clear()
            await asyncio.sleep(0.5)
