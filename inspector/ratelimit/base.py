"""The rate-limit interface, and the GCRA arithmetic every adapter decides by."""

from __future__ import annotations

import abc
import math

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


class Gcra:
    """A token bucket `burst` deep refilled at `rate_per_second`, kept as one number per key (GCRA).

    That number is the key's theoretical arrival time (TAT): when the bucket will be full again
    if nothing else arrives. A request may go through if taking its token keeps the TAT within
    `burst` intervals of now. Refusals do not move the TAT, so a sender that keeps retrying
    still gets through at the configured rate.
    """

    def __init__(self, rate_per_second: float, burst: int) -> None:
        if not rate_per_second > 0:
            raise ValueError(f"rate_per_second must be above 0, not {rate_per_second}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst}")
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.interval = 1.0 / rate_per_second
        self.window = burst * self.interval
        # Float sums drift: without a little slack the burst-th request at one instant, or one sent
        # exactly retry_after later, could be refused.
        self.tolerance = self.window * (1 + 1e-9)

    def take(self, tat: float, now: float) -> tuple[Decision, float]:
        """The decision for one request at `now`, and the key's TAT after it (unchanged if refused).

        A key never seen (or idle since its TAT) has `tat <= now`: a full bucket.
        """
        due = (tat if tat > now else now) + self.interval
        if due - now > self.tolerance:
            return Decision(False, due - now - self.window), tat
        return ALLOWED, due


class RateLimiter(abc.ABC):
    """Per-key rate limits: `check` takes a token for a key if it has one."""

    def __init__(self, rate_per_second: float, burst: int) -> None:
        self.gcra = Gcra(rate_per_second, burst)

    @property
    def rate_per_second(self) -> float:
        return self.gcra.rate_per_second

    @property
    def burst(self) -> int:
        return self.gcra.burst

    @abc.abstractmethod
    async def check(self, key: str) -> Decision:
        """Take a token for `key` if one is there; the answer says when to retry if not."""

    async def close(self) -> None:
        """Release connections, if the adapter has any."""
