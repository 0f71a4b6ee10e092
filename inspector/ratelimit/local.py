"""Rate limits kept in this process's memory: bounded, O(1) per check, for a single server process."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from inspector.ratelimit.base import Decision, RateLimiter


class LocalRateLimiter(RateLimiter):
    """One TAT per key in memory, `burst` deep, refilled at `rate_per_second` (see Gcra).

    Keys are kept in least-recently-checked order and the oldest is dropped past `max_keys`,
    so memory stays bounded; a dropped key starts again with a full bucket and no refusals,
    which is what an idle key would have anyway.

    Not thread-safe: it is meant for one event loop, where check() runs without interruption.
    """

    def __init__(
        self,
        rate_per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        super().__init__(rate_per_second, burst)
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, not {max_keys}")
        self.max_keys = max_keys
        self._clock = clock
        # key -> [theoretical arrival time of the next request, refusals]; a list is mutated in place,
        # which is cheaper than building a new entry on every check.
        self._keys: OrderedDict[str, list[float]] = OrderedDict()

    async def check(self, key: str) -> Decision:
        now = self._clock()
        keys = self._keys
        entry = keys.get(key)
        if entry is None:
            entry = keys[key] = [now, 0.0]
            if len(keys) > self.max_keys:
                keys.popitem(last=False)
        else:
            keys.move_to_end(key)
        decision, entry[0] = self.gcra.take(entry[0], now)
        if not decision.allowed:
            entry[1] += 1
        return decision

    def refused(self, key: str) -> int:
        """How many checks of `key` were refused since it was last dropped (0 for an unknown key)."""
        entry = self._keys.get(key)
        return 0 if entry is None else int(entry[1])

    def forget(self, key: str) -> None:
        """Drop a key's state (say, when its bin is deleted)."""
        self._keys.pop(key, None)

    def __len__(self) -> int:
        """How many keys are held."""
        return len(self._keys)
