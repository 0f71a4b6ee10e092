"""Live streams of a bin over Server-Sent Events: HTML fragments for the dashboard, JSON for API clients."""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import parse_qsl

import jinja2
import msgspec
from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.types import ASGIApp
from sse_starlette import EventSourceResponse, ServerSentEvent

from inspector.capture import answer_error
from inspector.config import Settings
from inspector.detection import stored_labels
from inspector.hub import Event, Hub
from inspector.models import MAX_ID, CapturedRequest, RequestSummary
from inspector.proxies import TrustedProxies, scope_origin
from inspector.replay import hop_by_hop_names
from inspector.search import EMPTY, RequestQuery
from inspector.store import Store
from inspector.web.access import READ, allowed, presented_tokens
from inspector.web.api import request_filters, request_out
from inspector.web.deps import Cursor, HubDep, SettingsDep, StoreDep

CATCH_UP_PAGE = 500
# A catch-up longer than this many pages ends the catch-up; live events go on from the cursor reached.
MAX_CATCH_UP_PAGES = 10_000


# Ids of a bin's requests committed after a given id (oldest first, at most CATCH_UP_PAGE); the
# third argument is the id of the event that prompted the read, so that shared reads are fresh.
MissedReader = Callable[[str, int, int], Awaitable[list[int]]]


async def follow(
    store: Store,
    hub: Hub,
    bin_id: str,
    after: int,
    missed: MissedReader | None = None,
    query: RequestQuery = EMPTY,
) -> AsyncIterator[Event]:
    """Every event of a bin after request id `after`: first what was missed, then live.

    Subscribing before reading the store leaves no gap: a request committed while we catch up
    arrives as a live event too, and is skipped if the catch-up already gave it. Live request
    events are not trusted to arrive in commit order: several processes publish them, each in its
    own time, and a process may die between its commit (or a capture be cancelled after it) and its
    publish. So a live request event is passed on as it is only when it proves it is the next row:
    it carries the capture (this process made it) and its `previous`, the id the store committed in
    the bin just before it, is the last id sent. Any other is taken as a cue to read what the store
    committed after the last id sent, which yields every request once, in id order, with nothing
    skipped. The stream ends if the hub drops us for falling behind; the client reconnects and
    catches up again.

    Under a filter the reads go through `find_requests`, which passes on only the captures that
    match (its windows move the cursor past the others), and signature and forward updates are
    passed on only for captures that match.
    """
    read = missed or functools.partial(_ids_after, store)
    async with hub.subscribe(bin_id) as subscription:
        last = after
        for _ in range(MAX_CATCH_UP_PAGES):
            ids, reached, more = await _read_after(store, query, bin_id, last)
            for request_id in ids:
                yield Event(kind="request", bin_id=bin_id, request_id=request_id)
            last = max(last, reached)
            if not more:
                break
        async for event in subscription:
            if event.kind == "request":
                if event.request_id is None or event.request_id <= last:
                    continue
                if query.empty and event.captured is not None and event.previous == last:
                    # Nothing of this bin was committed between `last` and this capture, and the event
                    # holds it: it is the next row, rendered without reading it back.
                    last = event.request_id
                    yield event
                    continue
                if query.empty:
                    for request_id in await read(bin_id, last, event.request_id):
                        last = request_id
                        yield Event(kind="request", bin_id=bin_id, request_id=request_id)
                    continue
                # A filtered read is this subscriber's own: it is not shared like `read`.
                for _ in range(MAX_CATCH_UP_PAGES):
                    ids, reached, more = await _read_after(store, query, bin_id, last)
                    for request_id in ids:
                        yield Event(kind="request", bin_id=bin_id, request_id=request_id)
                    last = max(last, reached)
                    if not more or last >= event.request_id:
                        break
                continue
            if (
                not query.empty
                and event.kind in ("request_checked", "request_forwarded")
                and not await passes(store, bin_id, query, event.request_id)
            ):
                continue
            yield event
            if event.kind == "bin_deleted":
                return


async def passes(store: Store, bin_id: str, query: RequestQuery, request_id: int | None) -> bool:
    """Whether one capture passes a filter, asked of the store (a window of the one row)."""
    if request_id is None:
        return False
    page = await store.find_requests(bin_id, query, after=request_id - 1, limit=1, scan=1)
    return bool(page.items) and page.items[0].id == request_id


async def next_match(
    store: Store, hub: Hub, bin_id: str, query: RequestQuery, *, after: int | None, wait: float
) -> int | None:
    """The id of the first capture after `after` (None: after the newest now) that passes `query`,
    waiting up to `wait` seconds for one; None if none came.

    The hub only wakes us; the store says what is there. Subscribing before the first read leaves no
    gap, and if the hub drops us (or cannot deliver) we fall back to reading the store every second.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    async with hub.subscribe(bin_id) as subscription:
        if after is None:
            newest = await store.list_requests(bin_id, limit=1)
            after = newest[0].id if newest else 0
        events = aiter(subscription)
        listening = True
        cursor = after
        while loop.time() < deadline:  # each round reads a window of the bin or waits for an event
            if query.empty:
                found = await store.requests_after(bin_id, after=cursor, limit=1)
                if found:
                    return found[0].id
                more = False
            else:
                page = await store.find_requests(bin_id, query, after=cursor, limit=1)
                if page.items:
                    return page.items[0].id
                cursor, more = page.next or cursor, page.more
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            if more:
                continue  # the window ended before the newest capture: read on without waiting
            if not listening:
                await asyncio.sleep(min(1.0, remaining))
                continue
            try:
                event = await asyncio.wait_for(anext(events), remaining)
            except TimeoutError:
                return None
            except StopAsyncIteration:
                listening = False
                continue
            if event.kind == "bin_deleted":
                return None
        return None


async def _read_after(
    store: Store, query: RequestQuery, bin_id: str, after: int
) -> tuple[list[int], int, bool]:
    """One catch-up read: the ids after `after` (that pass `query`, if any), the highest id looked at,
    and whether there may be more."""
    if query.empty:
        ids = await _ids_after(store, bin_id, after, 0)
        return ids, ids[-1] if ids else after, len(ids) == CATCH_UP_PAGE
    page = await store.find_requests(bin_id, query, after=after, limit=CATCH_UP_PAGE)
    return [summary.id for summary in page.items], max(after, page.next or after), page.more


async def _ids_after(store: Store, bin_id: str, after: int, _cue: int) -> list[int]:
    return [summary.id for summary in await store.requests_after(bin_id, after=after, limit=CATCH_UP_PAGE)]


T = TypeVar("T")


class RenderOnce(Generic[T]):
    """Shares one rendering of an event (or one read) among every subscriber that receives it.

    Entries live only a few seconds: long enough for all current subscribers to pick up a
    fresh event, short enough that large bodies do not pile up in memory.
    """

    def __init__(self, *, max_entries: int = 256, max_age: float = 5.0) -> None:
        self._entries: OrderedDict[tuple[Any, ...], tuple[float, asyncio.Future[T]]] = OrderedDict()
        self._max_entries = max_entries
        self._max_age = max_age

    async def get(self, key: tuple[Any, ...], render: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        while self._entries and (
            len(self._entries) > self._max_entries
            or next(iter(self._entries.values()))[0] < now - self._max_age
        ):
            self._entries.popitem(last=False)
        entry = self._entries.get(key)
        if entry is not None:
            shared = entry[1]
            if shared.done() and not shared.cancelled():
                return shared.result()  # the common case: no task switch per subscriber
            try:
                return await asyncio.shield(shared)
            except asyncio.CancelledError:
                if not shared.cancelled():
                    raise  # this subscriber itself went away
            except Exception:  # noqa: S110 - the first renderer failed; try once more below
                pass
            return await render()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._entries[key] = (now, future)
        try:
            result = await render()
        except BaseException:
            self._entries.pop(key, None)
            future.cancel()
            raise
        future.set_result(result)
        return result


class LiveViews:
    """Turns hub events into what each kind of stream sends."""

    def __init__(self, store: Store, templates: jinja2.Environment) -> None:
        self._store = store
        self._templates = templates
        self._html: RenderOnce[bytes | None] = RenderOnce()
        self._json: RenderOnce[bytes | None] = RenderOnce(max_entries=64)
        self._smee: RenderOnce[bytes | None] = RenderOnce(max_entries=64)
        self._missed: RenderOnce[list[int]] = RenderOnce()

    async def missed(self, bin_id: str, last: int, cue: int) -> list[int]:
        """What `follow` reads on each live event, read once for every subscriber at the same place.

        Keyed by the cue too: a read made for an earlier event may predate this one's commit.
        """
        return await self._missed.get(
            (bin_id, last, cue), functools.partial(_ids_after, self._store, bin_id, last, cue)
        )

    async def html(self, event: Event) -> bytes | None:
        return await self._html.get(_identity(event), lambda: _encoded(event, self._render_html, named=False))

    async def _render_html(self, event: Event) -> str | None:
        row = None
        if event.kind in ("request", "request_checked", "request_forwarded") and event.request_id is not None:
            row = _held_summary(event) or await self._store.get_summary(event.bin_id, event.request_id)
            if row is None:
                return None  # deleted before we got to it
        counted = event.kind in ("request", "request_deleted", "bin_cleared")
        count = await self._store.count_requests(event.bin_id) if counted else 0
        return self._templates.get_template("_live_event.html").render(event=event, row=row, count=count)

    async def json(self, event: Event) -> bytes | None:
        return await self._json.get(_identity(event), lambda: _encoded(event, self._render_json, named=True))

    async def _render_json(self, event: Event) -> str | None:
        if event.kind in ("request_checked", "request_forwarded") and event.request_id is not None:
            row = await self._store.get_summary(event.bin_id, event.request_id)
            extra = {"signature": row and row.signature, "forwarding": row and row.forwarding}
            return msgspec.json.encode({**_public(event), **extra}).decode()
        if event.kind != "request" or event.request_id is None:
            return msgspec.json.encode(_public(event)).decode()
        request = _held_request(event) or await self._store.get_request(event.bin_id, event.request_id)
        return msgspec.json.encode(request_out(request)).decode() if request else None

    async def smee(self, event: Event) -> bytes | None:
        if event.kind != "request" or event.request_id is None:
            return None
        return await self._smee.get(
            ("smee", event.bin_id, event.request_id), lambda: _encoded(event, self._render_smee, named=False)
        )

    async def _render_smee(self, event: Event) -> str | None:
        request = event.captured or await self._store.get_request(event.bin_id, event.request_id or 0)
        return (
            msgspec.json.encode(smee_payload(request)).decode() if request and not request.rejected else None
        )


def _held_request(event: Event) -> CapturedRequest | None:
    """The capture a request event holds, as the store would give it back; None when it holds none or
    when only the store can complete it: a capture with a delivery id may repeat an earlier one
    (`duplicate_of` is a probe of the store)."""
    if event.kind != "request" or event.captured is None:
        return None
    labels = stored_labels(event.captured.headers, event.captured.body)
    if labels.delivery_id is not None:
        return None
    return msgspec.structs.replace(event.captured, provider=labels.provider, event=labels.event)


def _held_summary(event: Event) -> RequestSummary | None:
    """The list row of the capture a request event holds, as the store would give it; None when it
    holds none, or when the row depends on work done after the commit: bins with an on-arrival check
    or auto-forward show badges that workers write to the store meanwhile."""
    if event.background or (request := _held_request(event)) is None:
        return None
    return request.summary()


def _identity(event: Event) -> tuple[Any, ...]:
    """The key one rendering of an event is shared under.

    A capture is keyed by its request id: `follow` makes a request event of its own for each
    subscriber from what it reads in the store. Every other event is keyed by the object the hub
    handed to every subscriber here: keyed by (kind, request id), a second event about the same
    request (a forward to a second target, a re-check) got the first one's rendering, read from
    the store before the change, and a row stayed at ↗ 1/2. The key holds the event itself, so its
    id() cannot be reused while the entry lives.
    """
    if event.kind == "request":
        return (event.kind, event.bin_id, event.request_id)
    return (id(event), event)


def _public(event: Event) -> dict[str, Any]:
    """What API clients see of an event: not the hub's internal routing hints."""
    return {"kind": event.kind, "bin_id": event.bin_id, "request_id": event.request_id}


async def _encoded(
    event: Event, render: Callable[[Event], Awaitable[str | None]], *, named: bool
) -> bytes | None:
    """The event as a finished SSE message: rendered and encoded once, then shared by every subscriber."""
    data = await render(event)
    if data is None:
        return None
    return ServerSentEvent(
        data=data,
        # Only captures carry ids, so a client's Last-Event-ID is always a request id.
        id=str(event.request_id) if event.kind == "request" else None,
        # The dashboard and smee get unnamed events (htmx swaps them as "message"); API clients get kinds.
        event=event.kind if named else None,
        retry=1000,
    ).encode()


# Where a capture's sub-path travels in a smee event: smee.io's format has no field for a path, and
# smee-client sends every key but body and query as a header, so the local app can route on it.
SMEE_PATH_HEADER = "x-inspector-path"


def smee_payload(request: CapturedRequest) -> dict[str, Any]:
    """A capture in smee.io's event format: the headers as top-level keys, then body, query and timestamp.

    As smee.io builds it from Node's request: header names lowercased, repeated headers joined
    with ", ", repeated query parameters as a list (smee-client writes a list as "1,2"). Every
    header except the hop-by-hop ones, which describe the sender's connection (and which
    smee-client's HTTP client refuses to send: Transfer-Encoding, Keep-Alive, Upgrade). The
    sub-path is SMEE_PATH_HEADER, since smee-client always posts to its --target.

    smee-client posts JSON.stringify(body) with those headers, always as POST, so a JSON body
    arrives re-serialized (and a non-JSON body as a JSON string): for exact bytes, method and
    path, use `inspector forward`.
    """
    dropped = hop_by_hop_names(request.headers)
    headers: dict[str, str] = {}
    for name, value in request.headers:
        key = name.lower()
        if key in dropped or key.startswith("proxy-") or key == SMEE_PATH_HEADER:
            continue
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    headers[SMEE_PATH_HEADER] = request.sub_path or "/"
    try:
        body: Any = msgspec.json.decode(request.body) if request.body else {}
    except msgspec.DecodeError:
        body = request.body.decode("utf-8", errors="replace")
    query: dict[str, str | list[str]] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        earlier = query.get(name)
        if earlier is None:
            query[name] = value
        elif isinstance(earlier, list):
            earlier.append(value)
        else:
            query[name] = [earlier, value]
    return {**headers, "body": body, "query": query, "timestamp": int(request.received_at.timestamp() * 1000)}


def _last_event_id(headers: Any) -> int | None:
    """The client's Last-Event-ID as a request id, None when it sent none.

    Raises ValueError for one that cannot be a request id (the caller answers 400).
    """
    last_event_id = headers.get("last-event-id", "").strip()
    if not last_event_id:
        return None
    if not last_event_id.isdecimal() or not last_event_id.isascii() or int(last_event_id) > MAX_ID:
        raise ValueError(f"Last-Event-ID {last_event_id[:40]!r} is not a request id")
    return int(last_event_id)


def _cursor(headers: Any, after: int | None) -> int:
    """Where to resume: the client's Last-Event-ID after a reconnection, else the `after` parameter.

    Raises ValueError for a Last-Event-ID that cannot be a request id (the caller answers 400).
    """
    last = _last_event_id(headers)
    return max(after or 0, last or 0)


class StreamCaps:
    """Caps on live streams open at once, per bin and per client address (0: no cap).

    Every kind of stream (dashboard, API, smee channel) holds one slot of its bin and one of its
    client's while it is open; the client is the proxy-aware address, as for captures.
    """

    def __init__(self, per_bin: int, per_client: int, trusted: TrustedProxies) -> None:
        self._per_bin = per_bin
        self._per_client = per_client
        self._trusted = trusted
        self._bins: Counter[str] = Counter()
        self._clients: Counter[str] = Counter()

    @property
    def open(self) -> int:
        """Live streams open now in this process, of every kind."""
        return sum(self._bins.values())

    def _take(self, bin_id: str, client: str | None) -> str | None:
        """Hold a slot for a new stream, or say why there is none."""
        if self._per_bin and self._bins[bin_id] >= self._per_bin:
            return (
                f"This bin already has {self._per_bin} live streams open, this server's limit; "
                "close one (another tab or client) and try again."
            )
        if self._per_client and client is not None and self._clients[client] >= self._per_client:
            return (
                f"Your address already has {self._per_client} live streams open, this server's limit; "
                "close one and try again."
            )
        self._bins[bin_id] += 1
        if client is not None:
            self._clients[client] += 1
        return None

    def _release(self, bin_id: str, client: str | None) -> None:
        for counter, key in ((self._bins, bin_id), (self._clients, client)):
            if key is None:
                continue
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]

    def capped(self, bin_id: str, stream: ASGIApp) -> ASGIApp:
        """`stream`, refused with 429 before it starts when a cap is reached; its slot freed when it ends."""

        async def app(scope: Any, receive: Any, send: Any) -> None:
            client = scope_origin(scope, self._trusted)[0]
            refusal = self._take(bin_id, client)
            if refusal:
                await answer_error(send, 429, refusal)
                return
            try:
                await stream(scope, receive, send)
            finally:
                # However the stream ended: client gone, bin deleted, server shutting down.
                self._release(bin_id, client)

        return app


def event_stream(
    store: Store,
    hub: Hub,
    bin_id: str,
    after: int,
    render: Callable[[Event], Awaitable[bytes | None]],
    *,
    ping: float,
    tokens: list[str],
    query: RequestQuery = EMPTY,
    missed: MissedReader | None = None,
    first: bytes | None = None,
) -> EventSourceResponse:
    """An SSE response of a bin's events after `after`, each rendered and encoded once however many
    listen; `first`, when given, is sent before them.

    Access is checked when a stream opens; when the bin's settings change (made private, share link
    replaced or revoked) it is checked again with the tokens the stream opened with, and a stream
    that may no longer read the bin ends. Its reconnection then meets the guard.
    """

    async def messages() -> AsyncIterator[bytes]:
        if first is not None:
            yield first
        async for event in follow(store, hub, bin_id, after, missed, query):
            if event.kind == "bin_changed":
                # The store, not BinCache: another process's cache may not have forgotten the bin yet.
                bin = await store.get_bin(bin_id)
                if bin is None or not allowed(bin, tokens, READ):
                    return
            message = await render(event)
            if message is not None:
                yield message

    return EventSourceResponse(messages(), ping=ping)


async def _stream(
    request: Request[Any, Any, Any],
    store: Store,
    hub: Hub,
    settings: Settings,
    bin_id: str,
    after: int | None,
    *,
    named: bool,
) -> ASGIApp:
    if await store.get_bin(bin_id) is None:
        raise NotFoundException(f"There is no bin named {bin_id!r}.")
    live: LiveViews = request.app.state.live
    caps: StreamCaps = request.app.state.streams
    render = live.json if named else live.html
    query = request_filters(request, "after")
    try:
        cursor = _cursor(request.headers, after)
    except ValueError as exc:
        raise ClientException(str(exc)) from None
    stream = event_stream(
        store,
        hub,
        bin_id,
        cursor,
        render,
        ping=settings.sse_ping_seconds,
        tokens=presented_tokens(request, bin_id),
        missed=live.missed,
        query=query,
    )
    return caps.capped(bin_id, stream)


class SmeeChannel:
    """A bin as a smee.io channel: smee-client opens an event stream on the bin's own URL.

    It starts with the captures that arrive from now on (as smee.io does), or after the
    Last-Event-ID it sends when it reconnects, as the JSON stream does. Like smee.io it first
    sends a `ready` event (which smee-client does not forward); ours carries the starting cursor
    as its id, so a client that reconnects before any capture arrived (a server restart) still
    resumes at the right place instead of at a new "now".
    """

    def __init__(self, store: Store, hub: Hub, live: LiveViews, caps: StreamCaps, ping: float) -> None:
        self._store = store
        self._hub = hub
        self._live = live
        self._caps = caps
        self._ping = ping

    @staticmethod
    def wants(scope: dict[str, Any]) -> bool:
        if scope["method"] != "GET":
            return False
        accept = next((v for k, v in scope["headers"] if k == b"accept"), b"")
        return b"text/event-stream" in accept

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        bin_id = scope["path"].removeprefix("/b/").split("/", 1)[0]
        bin = await self._store.get_bin(bin_id)
        if bin is None:
            await answer_error(send, 404, f"There is no bin named {bin_id!r}.")
            return
        # Senders know the capture URL, so listening on it needs the token for a private bin:
        # smee-client takes it in the URL (?token=... or a share token as ?share=...).
        tokens = presented_tokens(ASGIConnection(scope), bin_id)
        if not allowed(bin, tokens, READ):
            await answer_error(
                send, 401, "This bin is private: add ?token=TOKEN (or ?share=...) to the channel URL."
            )
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            after = _last_event_id(headers)
        except ValueError as exc:
            await answer_error(send, 400, str(exc))
            return
        if after is None:
            # A first connection: from now on. Not max(now, Last-Event-ID): after a restart
            # "now" is past the captures that arrived while the client was reconnecting.
            newest = await self._store.list_requests(bin_id, limit=1)
            after = newest[0].id if newest else 0
        ready = ServerSentEvent(data="{}", event="ready", id=str(after), retry=1000).encode()
        stream = event_stream(
            self._store,
            self._hub,
            bin_id,
            after,
            self._live.smee,
            ping=self._ping,
            missed=self._live.missed,
            first=ready,
            tokens=tokens,
        )
        await self._caps.capped(bin_id, stream)(scope, receive, send)


@get("/bins/{bin_id:str}/events", include_in_schema=False)
async def html_events(
    request: Request[Any, Any, Any],
    store: StoreDep,
    hub: HubDep,
    settings: SettingsDep,
    bin_id: str,
    after: Cursor = None,
) -> ASGIApp:
    """The dashboard's stream: one HTML fragment per event, ready for htmx to swap in."""
    return await _stream(request, store, hub, settings, bin_id, after, named=False)


@get("/api/bins/{bin_id:str}/stream", tags=["bins"], summary="Live stream of a bin's requests (SSE)")
async def json_events(
    request: Request[Any, Any, Any],
    store: StoreDep,
    hub: HubDep,
    settings: SettingsDep,
    bin_id: str,
    after: Cursor = None,
) -> ASGIApp:
    """Server-Sent Events: `request` events carry the full request as JSON (as GET .../requests/{rid}),
    with the request id as the event id. Reconnect with Last-Event-ID, or pass `after`, to receive
    everything captured since, then live events. Also `request_deleted`, `bin_cleared`, `bin_deleted`.
    The filters of GET .../requests apply: then only captures that pass them are sent.
    """
    return await _stream(request, store, hub, settings, bin_id, after, named=True)


# Long polls wait at most this long; clients that want longer ask again with the same `after`.
MAX_WAIT_SECONDS = 300


@get(
    "/api/bins/{bin_id:str}/requests/next",
    tags=["bins"],
    summary="Wait for the next capture (long poll)",
    responses={204: ResponseSpec(None, description="No matching capture came before the timeout")},
)
async def wait_next(
    request: Request[Any, Any, Any],
    store: StoreDep,
    hub: HubDep,
    bin_id: str,
    after: Cursor = None,
    wait: Annotated[
        float, Parameter(query="timeout", gt=0, le=MAX_WAIT_SECONDS, description="Seconds to wait")
    ] = 30,
) -> Response[Any]:
    """The first capture after `after` (default: the newest when the call starts) that passes the
    filters of GET .../requests, in full (as GET .../requests/{rid}), as soon as it is captured.
    After `timeout` seconds with none: 204 No Content. Ask again with `after` set to the id received
    to follow a bin one capture at a time without missing any."""
    query = request_filters(request, "after", "timeout")
    if await store.get_bin(bin_id) is None:
        raise NotFoundException(f"There is no bin named {bin_id!r}.")
    found = await next_match(store, hub, bin_id, query, after=after, wait=wait)
    captured = await store.get_request(bin_id, found) if found is not None else None
    if captured is None:
        return Response(content=None, status_code=204)
    return Response(content=request_out(captured))
