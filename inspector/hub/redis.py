"""The Redis hub: events cross processes and hosts through Redis pub/sub, one channel per bin."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
import redis.asyncio as aioredis
import structlog
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from inspector.hub.base import Event, Hub, HubUnavailable, Subscription, reaches_all
from inspector.hub.fanout import ALL_ROOM, Fanout

log = structlog.get_logger(__name__)

_decode = msgspec.json.Decoder(Event).decode
_encode = msgspec.json.Encoder().encode


class RedisHub(Hub):
    """Publishes on `{prefix}:bin:{id}` (and `{prefix}:all` for what subscribe_all hears).

    Each process keeps one pub/sub connection: the first local subscriber of a bin subscribes
    its channel, the last one leaving unsubscribes, and a reader task hands messages to local
    subscribers through the same bounded fan-out as the in-process hub. If that connection
    drops, every local subscription ends (subscribers catch up from the store, so nobody loses
    their place) and the hub reconnects with backoff; until then new subscriptions end at once.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "inspector",
        max_pending: int = 1000,
        timeout: float = 5.0,
        health_interval: float = 15.0,
        max_backoff: float = 5.0,
    ) -> None:
        self.url = url
        self._prefix = prefix
        self._all = f"{prefix}:all"
        self._max_pending = max_pending
        self._timeout = timeout
        self._health_interval = health_interval
        self._max_backoff = max_backoff
        # Publishing is on the capture path: fail fast when Redis is gone, but let one retry
        # ride over a connection Redis closed (a restart, an idle timeout).
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 1)
        )
        # The pub/sub connection's name in CLIENT LIST, unique to this hub (so to this process).
        self.client_name = f"{re.sub(r'[^!-~]', '_', prefix)}-events-{uuid.uuid4().hex[:12]}"
        self._fanout = Fanout()
        # The pub/sub connection: None while Redis is unreachable.
        self._listener: Connection | None = None
        # One future per SUBSCRIBE sent and not yet confirmed, per channel, in sending order:
        # Redis confirms in the same order, so a subscriber that joins waits for the latest.
        self._confirmations: dict[str, deque[asyncio.Future[bool]]] = {}
        self._reader: asyncio.Task[None] | None = None
        # Events waiting for the next pipelined publish, and the future their publishers await.
        self._outbox: list[tuple[str, bytes]] = []
        self._batch: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None

    def channel(self, bin_id: str) -> str:
        """The Redis channel of a bin's events."""
        return f"{self._prefix}:bin:{bin_id}"

    async def open(self) -> None:
        try:
            await self._redis.ping()
            listener = await self._connect()
        except (RedisError, OSError) as exc:
            await self._redis.aclose()
            raise HubUnavailable(f"cannot reach Redis at {self._redacted()}: {exc}") from exc
        self._reader = asyncio.create_task(self._run(listener), name="redis-hub-reader")

    async def close(self) -> None:
        if self._flusher is not None:
            # What was published before the close still goes out (or fails to its publishers).
            await asyncio.wait([self._flusher])
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._lost()
        await self._redis.aclose()

    async def ping(self) -> None:
        if self._listener is None:
            raise HubUnavailable(f"the live-event connection to Redis at {self._redacted()} is down")
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise HubUnavailable(f"Redis at {self._redacted()} does not answer: {exc}") from exc

    async def publish(self, event: Event) -> None:
        """Publish, sharing one pipelined round trip with the events other captures publish meanwhile.

        As with the store's group commit: the first publisher starts a flush, and those that come
        while it is on the wire go together in the next one. One PUBLISH per capture cost about a
        seventh of a capture's CPU; a batch costs little more than one.
        """
        data = _encode(event.for_broker())
        self._outbox.append((self.channel(event.bin_id), data))
        if reaches_all(event):
            self._outbox.append((self._all, data))
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_future()
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.create_task(self._flush(), name="redis-hub-publisher")
        await asyncio.shield(self._batch)

    async def _flush(self) -> None:
        while self._batch is not None:
            done, self._batch = self._batch, None
            messages, self._outbox = self._outbox, []
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel, data in messages:
                        pipe.publish(channel, data)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                lost = f"{len(messages)} events not published: Redis at {self._redacted()}: {exc}"
                done.set_exception(HubUnavailable(lost))
                done.exception()  # retrieved here too: every publisher may have gone meanwhile
            else:
                done.set_result(None)

    def subscribe(self, bin_id: str) -> AbstractAsyncContextManager[Subscription]:
        return self._subscribe(self.channel(bin_id), self._max_pending)

    def subscribe_all(self) -> AbstractAsyncContextManager[Subscription]:
        return self._subscribe(self._all, self._max_pending * ALL_ROOM)

    @asynccontextmanager
    async def _subscribe(self, channel: str, max_pending: int) -> AsyncIterator[Subscription]:
        subscription = self._fanout.add(channel, max_pending)
        try:
            if not await self._active(channel):
                # Redis is unreachable (or did not confirm): end at once rather than pretend.
                if self._fanout.remove(channel, subscription):
                    await self._command("UNSUBSCRIBE", channel)
                subscription.end()
            yield subscription
        finally:
            if self._fanout.remove(channel, subscription):
                await self._command("UNSUBSCRIBE", channel)

    async def _active(self, channel: str) -> bool:
        """Make sure Redis delivers `channel` to this process before the subscriber reads the store."""
        pending = self._confirmations.get(channel)
        if self._fanout.count(channel) == 1:
            if self._listener is None:
                return False
            confirmed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._confirmations.setdefault(channel, deque()).append(confirmed)
            if not await self._command("SUBSCRIBE", channel):
                return False
        elif pending:
            confirmed = pending[-1]
        else:
            return self._listener is not None
        try:
            return await asyncio.wait_for(asyncio.shield(confirmed), self._timeout)
        except TimeoutError:
            log.warning("redis did not confirm a subscription in time", channel=channel)
            return False

    async def _command(self, *args: str) -> bool:
        """Send a command on the pub/sub connection; False if it is down (the reader handles that)."""
        listener = self._listener
        # Checked right before sending: redis-py would silently open a fresh connection otherwise.
        if listener is None or not listener.is_connected:
            return False
        try:
            await listener.send_command(*args, check_health=False)
        except (RedisError, OSError):
            return False
        return True

    async def _connect(self) -> Connection:
        pool = self._redis.connection_pool
        # Named, so an operator (or a test) can tell it apart in CLIENT LIST.
        listener: Connection = pool.connection_class(
            **{**pool.connection_kwargs, "client_name": self.client_name}
        )
        await listener.connect()
        self._listener = listener
        return listener

    async def _run(self, listener: Connection | None) -> None:
        backoff = 0.0
        while True:
            if listener is None:
                await asyncio.sleep(backoff)
                try:
                    listener = await self._connect()
                except (RedisError, OSError) as exc:
                    backoff = min(max(backoff * 2, 0.1), self._max_backoff)
                    log.debug("redis still unreachable", error=str(exc), retry_in=backoff)
                    continue
                log.info("live events through redis again", redis=self._redacted())
            try:
                await self._read(listener)
            except (RedisError, OSError) as exc:
                log.warning(
                    "lost the live-event connection to redis: ending live streams, reconnecting",
                    error=str(exc),
                )
            except Exception:
                log.exception("the redis hub's reader failed: ending live streams, reconnecting")
            await self._lost()
            listener = None
            backoff = 0.1

    async def _read(self, listener: Connection) -> None:
        pinged = False
        while True:
            message = await listener.read_response(
                timeout=self._health_interval, disconnect_on_error=True, push_request=True
            )
            if message is None:
                # Quiet for a while: a connection whose peer vanished would stay quiet forever.
                if pinged or not await self._command("PING"):
                    raise ConnectionError("redis did not answer a ping on the pub/sub connection")
                pinged = True
                continue
            pinged = False
            self._dispatch(message)

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, list) or len(message) < 3:
            return  # a PONG
        kind, channel = _text(message[0]), _text(message[1])
        if kind == "message":
            try:
                event = _decode(message[2])
            except msgspec.DecodeError:
                log.warning("ignored a message that is not an event", channel=channel)
                return
            self._fanout.deliver(channel, event)
        elif kind == "subscribe":
            pending = self._confirmations.get(channel)
            if pending:
                confirmed = pending.popleft()
                if not confirmed.done():
                    confirmed.set_result(True)
                if not pending:
                    del self._confirmations[channel]

    async def _lost(self) -> None:
        """The pub/sub connection is gone: nothing is subscribed any more, so end every subscription."""
        listener, self._listener = self._listener, None
        for pending in self._confirmations.values():
            for confirmed in pending:
                if not confirmed.done():
                    confirmed.set_result(False)
        self._confirmations.clear()
        self._fanout.end_all()
        if listener is not None:
            with contextlib.suppress(RedisError, OSError):
                await listener.disconnect(nowait=True)

    def _redacted(self) -> str:
        """The URL without its user and password, for messages and logs."""
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
