"""The Redis hub beyond the contract: processes see each other's events, and lost connections heal."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from conftest import REDIS_URL, unique_prefix

from inspector.hub import Event, HubUnavailable
from inspector.hub.redis import RedisHub

from .helpers import WAIT, collect, request

pytestmark = pytest.mark.usefixtures("redis_required")


@contextlib.asynccontextmanager
async def opened(url: str = REDIS_URL, **options: object) -> AsyncIterator[RedisHub]:
    hub = RedisHub(url, **options)  # type: ignore[arg-type]
    await hub.open()
    try:
        yield hub
    finally:
        await hub.close()


async def listener_ids(redis: aioredis.Redis, hub: RedisHub) -> list[int]:
    """The Redis client ids of the hub's pub/sub connections (subscribed to something or not)."""
    return [int(c["id"]) for c in await redis.client_list() if c["name"] == hub.client_name]


async def delivered_again(hub: RedisHub, publisher: RedisHub, bin_id: str) -> bool:
    """Whether a new subscription gets a new event, retried while the hub reconnects (bounded)."""
    for attempt in range(50):
        async with hub.subscribe(bin_id) as subscription:
            with contextlib.suppress(HubUnavailable):
                await publisher.publish(request(bin_id, attempt))
                if await collect(subscription, 1, within=0.5):
                    return True
        await asyncio.sleep(0.1)
    return False


async def test_two_hubs_of_one_deployment_see_each_others_events() -> None:
    prefix = unique_prefix()
    async with (
        opened(prefix=prefix) as one,
        opened(prefix=prefix) as other,
        one.subscribe("a") as page,
        other.subscribe_all() as worker,
    ):
        await other.publish(request("a", 1))
        await one.publish(request("a", 2, background=True))
        await other.publish(Event(kind="bin_deleted", bin_id="a"))
        assert [e.request_id for e in await collect(page, 3)] == [1, 2, None]
        assert [(e.kind, e.request_id) for e in await collect(worker, 2)] == [
            ("request", 2),
            ("bin_deleted", None),
        ]


async def test_a_capture_crosses_the_broker_as_ids_without_the_request_it_holds() -> None:
    """Only the capturing process may render from the capture an event holds: other processes read the
    store, so bodies never travel through Redis. The ids, `previous` included, do."""
    from datetime import UTC, datetime

    from inspector.models import CapturedRequest

    held = CapturedRequest(
        bin_id="a", method="POST", path="/b/a", sub_path="", query="", headers=[], body=b"x" * 100_000,
        body_size=100_000, body_sha256=None, client_ip=None, client_port=None, host="h", scheme="http",
        http_version="1.1", received_at=datetime.now(UTC), id=7,
    )  # fmt: skip
    prefix = unique_prefix()
    async with opened(prefix=prefix) as one, opened(prefix=prefix) as other, other.subscribe("a") as page:
        await one.publish(Event(kind="request", bin_id="a", request_id=7, previous=5, captured=held))
        (event,) = await collect(page, 1)
    assert (event.request_id, event.previous, event.captured) == (7, 5, None)


async def test_deployments_with_other_prefixes_do_not_hear_each_other() -> None:
    async with (
        opened(prefix=unique_prefix()) as one,
        opened(prefix=unique_prefix()) as other,
        one.subscribe("a") as page,
    ):
        await other.publish(request("a", 1))
        await one.publish(request("a", 2))
        assert [e.request_id for e in await collect(page, 1)] == [2]


async def test_one_connection_subscribes_a_channel_while_anyone_here_listens(redis: aioredis.Redis) -> None:
    async with opened(prefix=unique_prefix()) as hub:
        channel = hub.channel("a")

        async def listeners() -> int:
            return dict(await redis.pubsub_numsub(channel))[channel.encode()]

        async with hub.subscribe("a"), hub.subscribe("a"), hub.subscribe("b"):
            assert await listeners() == 1
            (listener,) = [c for c in await redis.client_list() if c["name"] == hub.client_name]
            assert listener["sub"] == "2"  # a and b, over one connection
        assert await listeners() == 0  # the last one out unsubscribed


async def test_after_the_connection_is_killed_subscriptions_end_and_new_ones_work(
    redis: aioredis.Redis,
) -> None:
    prefix = unique_prefix()
    async with opened(prefix=prefix) as hub, opened(prefix=prefix) as publisher:
        async with hub.subscribe("a") as page, hub.subscribe_all() as worker:
            (listener,) = await listener_ids(redis, hub)
            assert await redis.client_kill_filter(_id=listener) == 1
            # Their iteration ends (they would catch up from the store), within a bounded wait.
            assert await collect(page, 1) == []
            assert await collect(worker, 1) == []
        assert await delivered_again(hub, publisher, "a")
        (reconnected,) = await listener_ids(redis, hub)
        assert reconnected != listener


class Relay:
    """A TCP relay on loopback in front of the real Redis that a test can cut, silence and restore."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.silent = False
        # Seconds each chunk of bytes waits before it is passed on, as over a slow network.
        self.delay = 0.0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port, reuse_address=True)

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self._writers |= {writer, upstream_writer}
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pump = asyncio.create_task(self._pump(source, sink))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                await asyncio.sleep(self.delay)
                if not self.silent:  # silent: bytes vanish, as into a dead network
                    sink.write(data)
                    await sink.drain()
        sink.close()

    async def cut(self) -> None:
        """Stop listening and close every relayed connection: Redis is gone, as far as clients can tell."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        for pump in list(self._pumps):
            pump.cancel()


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    relay = Relay()
    await relay.start()
    yield relay
    await relay.cut()


async def test_a_subscription_is_active_in_redis_once_entered(relay: Relay) -> None:
    """Another process's publish right after subscribing arrives, however slow the link to Redis.

    live.follow reads the store right after subscribing: a subscription that Redis had not yet
    taken would lose what is captured in between.
    """
    relay.delay = 0.05
    prefix = unique_prefix()
    async with opened(relay.url, prefix=prefix) as slow_link, opened(prefix=prefix) as other:
        for n in range(5):
            async with slow_link.subscribe(f"bin{n}") as subscription:
                await other.publish(request(f"bin{n}", n))
                assert [e.request_id for e in await collect(subscription, 1)] == [n]


async def test_while_redis_is_unreachable_the_hub_says_so_and_it_recovers(relay: Relay) -> None:
    prefix = unique_prefix()
    async with opened(relay.url, prefix=prefix) as hub, opened(prefix=prefix) as publisher:
        async with hub.subscribe("a") as page:
            await relay.cut()
            assert await collect(page, 1) == []
        # Down: subscriptions end at once (callers catch up from the store and come back later),
        # publishing and the health check fail clearly.
        async with hub.subscribe("a") as page:
            assert await collect(page, 1, within=1) == []
        with pytest.raises(HubUnavailable, match=f"127.0.0.1:{relay.port}"):
            await hub.publish(request("a", 1))
        # Publishers sharing a round trip all hear that it failed.
        failed = await asyncio.gather(
            *(hub.publish(request("a", n)) for n in range(5)), return_exceptions=True
        )
        assert all(isinstance(outcome, HubUnavailable) for outcome in failed), failed
        with pytest.raises(HubUnavailable):
            await hub.ping()

        await relay.start()
        assert await delivered_again(hub, publisher, "a")
        await hub.ping()
        await hub.publish(request("a", 1))


async def test_a_connection_that_goes_silent_is_noticed(relay: Relay) -> None:
    async with (
        opened(relay.url, prefix=unique_prefix(), health_interval=0.2) as hub,
        hub.subscribe("a") as page,
    ):
        relay.silent = True
        # No message and no answer to the hub's ping: it gives the connection up.
        assert await collect(page, 1, within=WAIT) == []


async def test_open_fails_clearly_when_redis_is_unreachable(relay: Relay) -> None:
    await relay.cut()
    hub = RedisHub(relay.url, prefix=unique_prefix(), timeout=1)
    with pytest.raises(HubUnavailable, match=f"cannot reach Redis at redis://127.0.0.1:{relay.port}/0"):
        await hub.open()
    await hub.close()


async def test_messages_show_no_password() -> None:
    hub = RedisHub("redis://user:hunter2@127.0.0.1:1/0", timeout=1)
    with pytest.raises(HubUnavailable) as raised:
        await hub.open()
    assert "hunter2" not in str(raised.value)
    await hub.close()


async def test_subscribers_cancelled_at_any_moment_do_not_end_the_others() -> None:
    """A client that goes away while its stream subscribes or leaves (its task is cancelled at any
    await) must not break the connection every other stream of the process shares."""
    async with opened(prefix=unique_prefix()) as hub, hub.subscribe("a") as staying:
        for steps in range(12):

            async def come_and_go(n: int = steps) -> None:
                async with hub.subscribe(f"leaving{n}"):
                    await asyncio.sleep(0)

            visitor = asyncio.create_task(come_and_go())
            for _ in range(steps):
                await asyncio.sleep(0)
            visitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await visitor
            await hub.publish(request("a", steps))
            assert [e.request_id for e in await collect(staying, 1)] == [steps]
