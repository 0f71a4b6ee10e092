"""The live-event interface: publish what happened to a bin, subscribe to a bin's events."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Literal

import msgspec
import structlog

from inspector.models import CapturedRequest

EventKind = Literal[
    "request",
    "request_checked",
    "request_forwarded",
    "request_deleted",
    "bin_cleared",
    "bin_deleted",
    # A bin's settings changed: every process drops what it cached of the bin.
    "bin_changed",
]


log = structlog.get_logger(__name__)


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Something that happened to a bin. Events carry ids; readers fetch from the store, the source of
    truth. A capture's event may also carry, within the process that made it, the capture itself:
    live views render it from there when they can prove they skip nothing (web/live.follow)."""

    kind: EventKind
    bin_id: str
    request_id: int | None = None
    # The capture needs background work (an on-arrival signature check, auto-forward): only such
    # events reach subscribe_all, so bins without either cost the workers nothing.
    background: bool = False
    # For a capture: the id committed in its bin just before it, when the store could say (Stored).
    previous: int | None = None
    # For a capture: the request as committed (its id set), in the process that captured it only.
    # Never sent through a broker: bodies can be large, and other processes read the store.
    captured: CapturedRequest | None = None

    def for_broker(self) -> Event:
        """The event without the capture it carries: as it may leave this process, and as subscribers
        that read the store anyway (workers, caches) get it."""
        return self if self.captured is None else msgspec.structs.replace(self, captured=None)


# Besides captures that need background work, what caches in every process must hear of.
_TO_ALL = frozenset({"bin_changed", "bin_deleted"})


def reaches_all(event: Event) -> bool:
    """Whether `subscribe_all` subscribers receive the event (see Hub.subscribe_all)."""
    return event.background or event.kind in _TO_ALL


class HubUnavailable(Exception):
    """The hub's broker cannot be reached: an event was not published, or the hub could not open."""


class Subscription(abc.ABC):
    """A bin's events in publish order, from the moment of subscribing.

    Iteration ends when the hub drops a subscriber that fell too far behind; the subscriber
    then catches up from the store, which is always the source of truth.
    """

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[Event]: ...


class Hub(abc.ABC):
    """Delivers events to every subscriber of a bin, in this process or (with an external broker) any."""

    async def open(self) -> None:
        """Connect to the broker, if the adapter has one."""

    async def close(self) -> None:
        """End every subscription and release connections."""

    async def ping(self) -> None:
        """Raise HubUnavailable when events cannot be delivered now; an in-process hub always can."""

    @abc.abstractmethod
    async def publish(self, event: Event) -> None:
        """Deliver an event to its bin's subscribers; HubUnavailable if the broker cannot be reached."""

    async def announce(self, event: Event) -> None:
        """Publish what the store already holds: on failure log, never raise.

        Events only say when to read: the change is committed, and live views, workers and caches
        catch up from the store. So a broker that is down must not turn a stored capture, a
        cleared bin or a recorded verdict into an error answer.
        """
        try:
            await self.publish(event)
        except Exception as exc:
            log.warning(
                "event not published; readers catch up from the store",
                kind=event.kind,
                bin=event.bin_id,
                request=event.request_id,
                error=str(exc),
            )

    @abc.abstractmethod
    def subscribe(self, bin_id: str) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe to a bin; the subscription is active once the context is entered.

        If the hub cannot deliver events (its broker is unreachable) the subscription is ended
        already: the subscriber catches up from the store and subscribes again later.
        """

    @abc.abstractmethod
    def subscribe_all(self) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe to the events of every bin that ask for background work (`background`), and to
        `bin_changed` and `bin_deleted` events (for caches).

        With several processes every one of them receives these events: they are hints to look for
        work, which is then claimed through the store, so each job is done once.
        """
