"""Retention in the background: expired bins are deleted, and the stored-bytes cap is kept, in small steps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog

from inspector.background import PROCESS_ID, BackgroundTasks
from inspector.bincache import BinCache
from inspector.store import Store

log = structlog.get_logger(__name__)

# Small steps: each is one short write, so captures waiting for the writer never wait long.
BINS_PER_STEP = 20
REQUESTS_PER_STEP = 200


class Sweeper:
    """One process at a time sweeps (a lease in the store): N servers do not delete the same bins N times."""

    def __init__(
        self, store: Store, bins: BinCache, *, interval: float, max_stored_bytes: int | None
    ) -> None:
        self._store = store
        self._bins = bins
        self._interval = interval
        self._max_stored_bytes = max_stored_bytes
        self._background = BackgroundTasks()

    def start(self) -> None:
        self._background.start(self._run(), "retention-sweeper")

    async def stop(self) -> None:
        await self._background.stop()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("retention sweep failed")

    async def sweep(self) -> None:
        # Held for a few intervals and renewed by each sweep; a crashed holder's lease runs out.
        now = datetime.now(UTC)
        if not await self._store.try_lease("sweeper", PROCESS_ID, now=now, seconds=self._interval * 3 + 5):
            return
        while expired := await self._store.expired_bins(datetime.now(UTC), limit=BINS_PER_STEP):
            for bin_id in expired:
                await self._store.delete_bin(bin_id)
                await self._bins.changed(bin_id, deleted=True)
            log.info("expired bins deleted", count=len(expired))
            await asyncio.sleep(0)
        if self._max_stored_bytes is not None:
            while (excess := await self._store.stored_bytes() - self._max_stored_bytes) > 0:
                if not await self._store.free_bytes(excess, limit=REQUESTS_PER_STEP):
                    break
                await asyncio.sleep(0)
