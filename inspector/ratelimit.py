"""Per-key rate limits for capture (a bin, a client address): in memory, bounded, O(1) per check."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

import msgspec


class Decision(msgspec.Struct, frozen=True):
    """Whether one request may go through, and if not, how long until it could."""

    allowed: bool
    # Seconds until the key has a token again; 0.0 when allowed.
    retry_after: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """The Retry-After value: whole seconds rounded up, at least 1 (a 0 would invite a retry storm)."""
        return str(max(1, math.ceil(self.retry_after)))


ALLOWED = Decision(True)


class RateLimiter:
    """A token bucket per key (GCRA: one float per key), `burst` deep, refilled at `rate_per_second`.

    Keys are kept in least-recently-checked order and the oldest is dropped past `max_keys`,
    so memory stays bounded; a dropped key starts again with a full bucket and no refusals,
    which is what an idle key would have anyway. Refusals do not use up tokens, so a sender
    that keeps retrying still gets through at the configured rate.

    Not thread-safe: it is meant for one event loop, where check() runs without interruption.
    """

    def __init__(
        self,
        rate_per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if not rate_per_second > 0:
            raise ValueError(f"rate_per_second must be above 0, not {rate_per_second}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, not {max_keys}")
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._interval = 1.0 / rate_per_second
        self._window = burst * self._interval
        # Float sums drift: without a little slack the burst-th request at one instant, or one sent
        # exactly retry_after later, could be refused.
        self._tolerance = self._window * (1 + 1e-9)
        # key -> [theoretical arrival time of the next request, refusals]; a list is mutated in place,
        # which is cheaper than building a new entry on every check.
        self._keys: OrderedDict[str, list[float]] = OrderedDict()

    def check(self, key: str) -> Decision:
        """Take a token for `key` if one is there; the answer says when to retry if not."""
        now = self._clock()
        keys = self._keys
        entry = keys.get(key)
        if entry is None:
            entry = keys[key] = [now, 0.0]
            if len(keys) > self.max_keys:
                keys.popitem(last=False)
        else:
            keys.move_to_end(key)
        due = entry[0] if entry[0] > now else now
        due += self._interval
        if due - now > self._tolerance:
            entry[1] += 1
            return Decision(False, due - now - self._window)
        entry[0] = due
        return ALLOWED

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
