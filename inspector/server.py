"""The uvicorn server and its hardened HTTP protocols: deadlines, a bounded request head, strict framing."""

from __future__ import annotations

import asyncio
import functools
import http
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import h11
import httptools
import msgspec
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess

from inspector.config import Settings, format_size
from inspector.extensions import RAW_HEADERS, RESPOND
from inspector.httpsyntax import TCHARS

# Room above --max-header-bytes that the parser still buffers, so that the capture path sees a
# block just over the limit and records the refused attempt; past it the parser answers 431 itself.
HEAD_SLACK = 16 * 1024
# How long a refused connection keeps reading (and discarding) what the client still sends, so
# that the client reads our answer instead of a connection reset.
LINGER_SECONDS = 2.0
# Live streams never end on their own; give them a bounded time to close on shutdown.
GRACEFUL_SHUTDOWN_SECONDS = 10


@dataclass(frozen=True)
class ConnectionLimits:
    """What a connection may cost us: time to send a request head, idle gaps in a body, head size."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_head_bytes: int = 32 * 1024 + HEAD_SLACK

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            max_head_bytes=settings.max_header_bytes + HEAD_SLACK,
        )


class InspectorConfig(uvicorn.Config):
    """uvicorn's configuration, carrying our Settings and connection limits.

    With --workers, uvicorn spawns each worker process with a pickled copy of this object: the
    worker builds the app from the same Settings (`load_app`) and its protocols read their limits
    from here, so nothing has to be re-parsed from flags or the environment.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits = ConnectionLimits.from_settings(settings)
        super().__init__(
            # Never imported: load_app builds the app from the settings.
            "inspector.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            http=PROTOCOLS[settings.http_parser],
            # Nothing here speaks WebSocket: an Upgrade request is captured like any other.
            ws="none",
            lifespan="on",
            log_config=None,
            # The access log is inspector.logs.AccessLog (structured fields, tokens blanked).
            access_log=False,
            server_header=False,
            # Proxy headers are read by inspector.proxies, from the configured proxies only.
            proxy_headers=False,
            timeout_keep_alive=settings.keep_alive_timeout_seconds,  # type: ignore[arg-type]
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )

    def load_app(self) -> Any:
        from inspector.app import create_app

        return functools.partial(create_app, self.settings)

    def configure_logging(self) -> None:
        # uvicorn calls this in the parent and again in each worker process it spawns.
        from inspector.logs import configure_logging

        configure_logging(self.settings.log_level, self.settings.log_format)
        super().configure_logging()  # after ours: it silences the access log unless asked for


def run(settings: Settings) -> None:
    """Serve until told to stop: in this process, or in `settings.workers` worker processes."""
    config = InspectorConfig(settings)
    if settings.workers == 1:
        uvicorn.Server(config).run()
        return
    # uvicorn's supervisor: it binds once, hands the socket to every worker, replaces a worker that
    # dies, and stops them all on SIGINT/SIGTERM.
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def framing_problem(http_version: str, headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    """Why a request's body framing is ambiguous, or None when it is sound.

    `headers` have lowercased names, as both parsers give them. A request that two servers could
    split differently (Content-Length and Transfer-Encoding together, conflicting lengths, codings
    other than chunked) is how requests are smuggled past a proxy: refuse it rather than guess.
    """
    return body_framing(http_version, headers)[0]


# `body_framing`'s length for a chunked body.
CHUNKED = -1


def body_framing(http_version: str, headers: Sequence[tuple[bytes, bytes]]) -> tuple[str | None, int]:
    """`framing_problem`, and the body's length when the framing is sound (CHUNKED, or 0 for none)."""
    if len(headers) == 1 and headers[0][0] == b"content-length" and headers[0][1].isdigit():
        return None, int(headers[0][1])  # the usual request: one plain Content-Length
    lengths: set[bytes] = set()
    codings: list[bytes] = []
    for name, value in headers:
        if name == b"content-length":
            lengths.update(part.strip() for part in value.split(b","))
        elif name == b"transfer-encoding":
            codings.append(value.strip().lower())
    if lengths and codings:
        return "the request has both Content-Length and Transfer-Encoding; send only one", 0
    if len(lengths) > 1:
        return "the request has conflicting Content-Length values", 0
    if codings and http_version == "1.0":
        return "Transfer-Encoding is not allowed in an HTTP/1.0 request", 0
    if codings and codings != [b"chunked"]:
        return "the only Transfer-Encoding accepted is a single 'chunked'", 0
    if codings:
        return None, CHUNKED
    if lengths:
        (length,) = lengths
        # The parsers have already refused a length that is not digits.
        return (None, int(length)) if length.isdigit() else ("the Content-Length is not a number", 0)
    return None, 0


class FramingRefused(Exception):
    """Raised from a parser callback to stop parsing a request whose framing is ambiguous."""


def refusal_for(error: BaseException | None, limits: ConnectionLimits) -> tuple[int, str]:
    """The status and message answering a request the parser gave up on, from the parser's error."""
    if isinstance(error, httptools.HttpParserCallbackError) and error.__context__ is not None:
        error = error.__context__  # what our own callback raised
    if isinstance(error, h11.RemoteProtocolError) and error.error_status_hint == 431:
        return 431, head_too_large(limits)
    reason = str(error) if error is not None else ""
    # Parser messages may quote the offending bytes: keep them short (the answer is JSON-escaped).
    reason = reason if len(reason) <= 200 else reason[:200] + "..."
    return 400, f"Invalid HTTP request: {reason or 'malformed request line, headers or framing'}."


def head_too_large(limits: ConnectionLimits) -> str:
    return (
        f"The request line and headers are larger than this server accepts "
        f"({format_size(limits.max_head_bytes)}); nothing was recorded."
    )


def error_response(status: int, detail: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A complete HTTP/1.1 answer with a JSON error body, that closes the connection."""
    body = msgspec.json.encode({"status_code": status, "detail": detail})
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}".encode()]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        b"x-content-type-options: nosniff",
        b"connection: close",
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _nothing() -> None:
    pass


# What the parser reads next on a connection.
HEAD, BODY = "head", "body"


class _Deadlines:
    """Deadlines and refusals shared by both parsers' protocols (a mixin over uvicorn's classes).

    A request head must arrive whole within `header_timeout` (from the connection's start, or
    from the first byte of a later request), however slowly it trickles in; a body may pause at
    most `body_timeout` between chunks. Between requests uvicorn's keep-alive timeout applies.
    Every refusal is a JSON answer followed by a lingering close.
    """

    limits: ConnectionLimits
    # Provided by uvicorn's protocol classes.
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any
    flow: Any
    server_state: Any

    def __init__(self, config: InspectorConfig, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)  # type: ignore[call-arg]
        self.limits = config.limits

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._connection_state(retired=False)
        # A fresh connection owes us a request head: an idle one is closed, not kept forever.
        self._arm(self.limits.header_timeout, self._head_overdue)

    def _connection_state(self, *, retired: bool) -> None:
        # One deadline at a time: when it is due and what then. Requests move it several times
        # each, so it is a number; the timer behind it is re-armed only when it fires early or
        # must fire sooner (a timer per move cost more than the rest of this class).
        self._due: float | None = None
        self._on_due: Callable[[], None] = self._head_overdue
        # True while the deadline is the keep-alive timeout, between one answer and the next request.
        self._idle = False
        self._timer: asyncio.TimerHandle | None = None
        self._lingering = False
        # True while another protocol has the connection (see `_switch`).
        self._retired = retired
        # The protocol that takes the connection at a hand-over, once there has been one: both
        # live as long as the connection, so that a hand-over builds nothing.
        self._partner: _Deadlines | None = None
        # True while a hand-over from this protocol is in progress: its callers' frames are still
        # on the stack, so it must not be handed the connection again until they return.
        self._switching = False
        self._start_over()

    def _start_over(self) -> None:
        """Reset what the parser was doing: the next bytes start a request."""
        self._awaiting = HEAD
        # Bytes received of the head being read; counted while nothing else is expected.
        self._head_bytes = 0

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)  # type: ignore[misc]
        # The pair refer to each other and to their parsers (whose callbacks are bound methods):
        # unlinked here, they are freed at once rather than by the cyclic garbage collector.
        partner, self._partner = self._partner, None
        self._release()
        if partner is not None:
            partner._partner = None
            partner._release()

    def _release(self) -> None:
        self._on_due = _nothing  # a bound method of our own: a reference cycle
        self._let_go()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # refused: read and drop until the client stops or the linger ends
        if self._awaiting == BODY:
            self._arm(self.limits.body_timeout, self._body_stalled)  # an idle gap: data restarts it
        elif (self._due is None or self._idle) and (self.cycle is None or self.cycle.response_complete):
            # The next request on a kept-alive connection has begun. (Bytes that arrive while a
            # request is in flight are pipelined: uvicorn's keep-alive timer covers them.)
            self._arm(self.limits.header_timeout, self._head_overdue)
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        """Parse `data`, refusing a head that grows past the limit, wherever TCP split it.

        llhttp has no limit at all, and h11 checks its own only while a head is incomplete, so
        the bytes of a head are counted here: the parser gets no more than the head may still
        take, then we see whether the head completed.
        """
        while data and not self._lingering:
            if self._awaiting != HEAD:
                super().data_received(data)  # type: ignore[misc]
                return
            room = self.limits.max_head_bytes - self._head_bytes
            if room <= 0:
                self.refuse(431, head_too_large(self.limits))
                return
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            super().data_received(piece)  # type: ignore[misc]

    def _head_complete(self) -> None:
        """The parser has a whole request head: its body (if any) comes next."""
        if not self._lingering:
            self._awaiting = BODY
            self._arm(self.limits.body_timeout, self._body_stalled)

    def _body_complete(self) -> None:
        if not self._lingering:
            self._awaiting = HEAD
            self._head_bytes = 0
            self._cancel()

    def _head_overdue(self) -> None:
        if self._head_bytes == 0:
            self.transport.close()  # it never said anything: there is nobody to answer
            return
        self.refuse(408, f"The request head did not arrive within {self.limits.header_timeout:g} s.")

    def _body_stalled(self) -> None:
        cycle = self.cycle
        if self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue):
            # We are the ones not reading (the app is busy, or has not asked for the body yet).
            self._arm(self.limits.body_timeout, self._body_stalled)
            return
        if cycle is None or cycle.response_started:
            self.transport.close()  # the answer is out (or partly out): only the connection is left
            return
        # The application sees the client gone (the capture path then records nothing) and can no
        # longer answer; the 408 is ours.
        cycle.disconnected = True
        cycle.message_event.set()
        self.refuse(408, f"The request body stalled: nothing arrived for {self.limits.body_timeout:g} s.")

    def shutdown(self) -> None:
        if self._lingering:
            self.transport.close()  # already answered; uvicorn's own shutdown expects a clean parser
            return
        super().shutdown()  # type: ignore[misc]

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this while it handles the parser's exception, which says what was wrong.
        status, detail = refusal_for(sys.exception(), self.limits)
        self.refuse(status, detail)

    def refuse(self, status: int, detail: str) -> None:
        """Answer with an error and close, reading what the client still sends for a little while.

        Closing with unread data makes the kernel reset the connection, and the reset can reach
        the client before it has read our answer: half-close first and drain instead.
        """
        if self._lingering or self.transport.is_closing():
            return
        self._lingering = True
        self.transport.write(error_response(status, detail, self.server_state.default_headers))
        self._unset_keepalive_if_required()  # type: ignore[attr-defined]
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self._arm(LINGER_SECONDS, self.transport.close)

    def _switch(self, data: bytes) -> None:
        """Hand the connection to the partner protocol, which parses `data` first.

        Only between messages with no response in flight: each protocol's cycles write to the
        transport themselves, so answers stay in order only if one protocol has requests at a time.
        """
        head_due = self._due if self._on_due == self._head_overdue else None
        self._retired = True
        self._cancel()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._unset_keepalive_if_required()  # type: ignore[attr-defined]
        self.connections.discard(self)  # type: ignore[attr-defined]
        # The partner starts with reading on (h11 resumes the transport itself, not the shared
        # flow control, so the flag may say paused when it is not).
        self.flow.resume_reading()
        successor = self._partner
        if successor is None or successor._switching:
            # The first hand-over on this connection; or the partner is the one handing the
            # connection back to us right now (two pipelined requests for h11), and its callers would
            # carry on as if it still had the connection: a new partner takes over from it.
            if successor is not None:
                successor._partner = None
                successor._release()
            successor = self._partner_class()(self.config, self.server_state, self.app_state, self.loop)  # type: ignore[attr-defined, call-arg]
            successor._join(self)
        self.transport.set_protocol(successor)  # type: ignore[arg-type]
        self._switching = True
        try:
            successor._adopt(data, head_due)
        finally:
            self._switching = False

    def _partner_class(self) -> type[_Deadlines]:
        """The protocol class this one hands a connection to."""
        raise NotImplementedError

    def _join(self, partner: _Deadlines) -> None:
        """Become `partner`'s partner on its connection, in place of `connection_made`.

        The pair share the transport, what uvicorn found out about it, and its flow control: the
        transport tells only the protocol it has now that writing must pause or may resume, and
        either may have a response in flight when it does.
        """
        self.transport = partner.transport
        self.flow = partner.flow
        self.server = partner.server  # type: ignore[attr-defined]
        self.client = partner.client  # type: ignore[attr-defined]
        self.scheme = partner.scheme  # type: ignore[attr-defined]
        self._connection_state(retired=True)
        self._partner, partner._partner = partner, self

    def _let_go(self) -> None:
        """Break the reference cycles through the parser, as uvicorn does when a connection is lost."""

    def _adopt(self, data: bytes, head_due: float | None) -> None:
        """Take over a connection between messages, with `data` already read from it."""
        self._retired = False
        self.connections.add(self)  # type: ignore[attr-defined]
        self._start_over()
        if data:
            if head_due is not None:
                # The head began before the hand-over: its deadline stands.
                self._arm(head_due - self.loop.time(), self._head_overdue)
            self.data_received(data)
        else:
            # Between requests the keep-alive timeout applies, not the header deadline.
            self._cancel()
            self.timeout_keep_alive_task = self.loop.call_later(  # type: ignore[attr-defined]
                self.timeout_keep_alive,  # type: ignore[attr-defined]
                self.timeout_keep_alive_handler,  # type: ignore[attr-defined]
            )

    def _arm(self, delay: float, callback: Callable[[], None]) -> None:
        if self._retired:
            return
        self._idle = False
        self._due = self.loop.time() + delay
        self._on_due = callback
        if self._timer is None or self._due < self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.loop.call_at(self._due, self._tick)

    def _cancel(self) -> None:
        self._due = None

    def _tick(self) -> None:
        self._timer = None
        if self._due is None:
            return
        if self.loop.time() < self._due:
            self._timer = self.loop.call_at(self._due, self._tick)  # the deadline moved on since
            return
        self._due = None
        self._on_due()


class _StrictH11Connection(h11.Connection):
    """h11 with its framing checks completed: it prefers chunked over a Content-Length it also got.

    It also tells its protocol when a request/response cycle is over (`on_next_cycle`), so that the
    fallback protocol can hand the connection back to the fast one, and then parses nothing more.
    """

    on_next_cycle: Callable[[], None] | None = None
    retired = False
    # The last request's headers as received (h11 keeps the names' case for `raw_items`).
    raw_headers: list[tuple[bytes, bytes]] = []

    def next_event(self) -> Any:
        if self.retired:
            return h11.NEED_DATA  # what is left was handed over with the connection
        event = super().next_event()
        if isinstance(event, h11.Request):
            self.raw_headers = event.headers.raw_items()
            # From the list, not `event.headers`: iterating h11's Headers sequence costs more.
            lowered = [(name.lower(), value) for name, value in self.raw_headers]
            problem = framing_problem(event.http_version.decode("ascii"), lowered)
            if problem:
                raise h11.RemoteProtocolError(problem, error_status_hint=400)
        return event

    def start_next_cycle(self) -> None:
        super().start_next_cycle()
        if self.on_next_cycle is not None:
            self.on_next_cycle()


class HardenedH11Protocol(_Deadlines, H11Protocol):
    """uvicorn's h11 protocol with deadlines, a head limit answered with 431, and strict framing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = self._new_connection()

    def _new_connection(self) -> _StrictH11Connection:
        return _StrictH11Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_head_bytes)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:
            # A new request (one at most per call: h11 pauses until it is answered). Its task has
            # not run yet, so the scope can still gain the headers as received.
            self.scope["extensions"] = {RAW_HEADERS: self.conn.raw_headers}  # type: ignore[typeddict-unknown-key]
        if self._lingering or self._retired:
            return
        if self.cycle is not cycle:
            self._head_complete()  # a new request: h11 gave us its head
        if self._awaiting == BODY and self.conn.their_state is not h11.SEND_BODY:
            self._body_complete()


class _HeadWithBody:
    """The transport as one request's cycle (uvicorn's httptools side) sees it.

    uvicorn writes a response's head and its body separately, and each write is a send on the
    socket. A head that announces a body (a Content-Length, not HEAD) is held until the body's
    first bytes, so that a small answer such as a capture's leaves in one send; a response body
    that is streamed (chunked) is not held up waiting for it. Anything else passes through.
    The capture app's own answers skip the ASGI messages altogether (`respond`).
    """

    __slots__ = ("_cycle", "_head", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: Any) -> None:
        self._transport = transport
        # Until the head is written: the cycle says whether the write at hand is the head.
        self._cycle = cycle
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
            return
        cycle = self._cycle
        if cycle is not None and cycle.response_started:
            # The first write since the response started is its head (an earlier one was a
            # 100 Continue). Let go of the cycle: it refers to us.
            self._cycle = None
            if (
                cycle.chunked_encoding is False
                and cycle.expected_content_length
                and cycle.scope["method"] != "HEAD"
            ):
                self._head = data
                return
        self._transport.write(data)

    async def respond(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """The whole response in one write, headers unchecked: what the cycle's ASGI send does for
        a head with a Content-Length and then its body, for the capture app's own answers (offered
        as the RESPOND scope extension). uvicorn's access log is off in this server, as is its
        chunking (the answer is whole)."""
        cycle = self._cycle
        if cycle is None or cycle.response_started:
            raise RuntimeError("the response has already started")
        if cycle.flow.write_paused and not cycle.disconnected:
            await cycle.flow.drain()
        if cycle.disconnected:
            return
        self._cycle = None
        cycle.response_started = True
        cycle.waiting_for_100_continue = False
        cycle.chunked_encoding = False
        cycle.expected_content_length = 0
        content = [STATUS_LINE[status]]
        for name, value in cycle.default_headers:
            content += (name, b": ", value, b"\r\n")
        for name, value in headers:
            content += (name, b": ", value, b"\r\n")
        if not cycle.keep_alive:
            content.append(b"connection: close\r\n")
        content.append(b"\r\n")
        if cycle.scope["method"] != "HEAD":
            content.append(body)
        self._transport.write(b"".join(content))
        cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            self._transport.close()
        cycle.on_response()

    def close(self) -> None:
        # uvicorn closes after an application error: what it wrote goes out first, as before.
        if self._head is not None:
            self._transport.write(self._head)
            self._head = None
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


_FRAMING_AND_EXPECT = frozenset((b"content-length", b"transfer-encoding", b"expect"))


class HardenedHttpToolsProtocol(_Deadlines, HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines, a head limit answered with 431, and strict framing."""

    _body_length = 0

    def _let_go(self) -> None:
        self.parser = None  # type: ignore[assignment]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # uvicorn lowercases header names for the scope; the capture wants them as received.
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self.scope["extensions"] = {RAW_HEADERS: self._raw_headers}  # type: ignore[typeddict-unknown-key]
        # Content-Length and Transfer-Encoding, for `body_framing`.
        self._framing: list[tuple[bytes, bytes]] = []

    def on_header(self, name: bytes, value: bytes) -> None:
        # uvicorn's (the scope's names lowercase, Expect noted), keeping the names as received and the
        # framing headers aside: llhttp calls this for every header, so it does it all in one call.
        self._raw_headers.append((name, value))
        name = name.lower()
        if name in _FRAMING_AND_EXPECT:
            if name != b"expect":
                self._framing.append((name, value))
            elif value.lower() == b"100-continue":
                self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        http_version = self.parser.get_http_version()
        problem, self._body_length = body_framing(http_version, self._framing)
        if problem:
            raise FramingRefused(problem)  # stops llhttp; uvicorn then calls send_400_response
        cycle = self.cycle
        super().on_headers_complete()
        if self.cycle is not cycle:
            transport = _HeadWithBody(self.transport, self.cycle)
            self.cycle.transport = transport  # type: ignore[assignment]
            self.scope["extensions"][RESPOND] = transport.respond  # type: ignore[typeddict-item]
        self._head_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._body_complete()

    def on_response_complete(self) -> None:
        # uvicorn's, except that the keep-alive timeout is the connection's one deadline: uvicorn
        # starts a timer after each answer, which the next request cancels (a timer per request).
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._arm(self.timeout_keep_alive, self.timeout_keep_alive_handler)
            self._idle = True


# Methods that llhttp might parse (its list, HTTP and RTSP); those it takes in an HTTP/1.1 request
# are found by asking it, so that a newer llhttp's additions need no change here.
_LLHTTP_CANDIDATES = (  # noqa: SIM905 (a list of words reads better as words)
    "DELETE GET HEAD POST PUT OPTIONS TRACE COPY LOCK MKCOL MOVE PROPFIND PROPPATCH SEARCH UNLOCK "
    "BIND REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE M-SEARCH NOTIFY SUBSCRIBE UNSUBSCRIBE "
    "PATCH PURGE MKCALENDAR LINK UNLINK SOURCE QUERY PRI DESCRIBE ANNOUNCE SETUP PLAY PAUSE "
    "TEARDOWN GET_PARAMETER SET_PARAMETER REDIRECT RECORD FLUSH"
).split()


class _Probe:
    complete = False

    def on_message_complete(self) -> None:
        self.complete = True


def _llhttp_takes(method: str) -> bool:
    """Whether llhttp parses `method` as a plain request (CONNECT is an upgrade to it: not plain)."""
    probe = _Probe()
    parser = httptools.HttpRequestParser(probe)
    try:
        parser.feed_data(f"{method} /x HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    except (httptools.HttpParserError, httptools.HttpParserUpgrade):
        return False
    return probe.complete and parser.get_method() == method.encode() and not parser.should_upgrade()


# Method tokens llhttp parses exactly as sent (it matches case).
FAST_METHODS = frozenset(method.encode() for method in _LLHTTP_CANDIDATES if _llhttp_takes(method))
# Any other token is parsed with this one in its place, and the request's scope then given the token
# as sent: llhttp treats POST like any method without a meaning of its own (its special cases are
# HEAD, which it takes as sent, and CONNECT, which h11 reads).
STAND_IN = b"POST"
# The longest token the fast path reads (IANA's method registry's longest has 17 bytes), so that the
# start of a request it holds back, waiting for the token's end, stays small. A longer one is h11's.
MAX_STAND_IN = 32


def method_end(data: bytes, start: int) -> int | None:
    """Where the method token of the request at `start` ends (at its space), when the fast path reads
    the request; -1 when h11 must (CONNECT, a method that is not a token or is over MAX_STAND_IN
    bytes); None when too few bytes have arrived to tell."""
    end = TCHARS.match(data, start, start + MAX_STAND_IN + 1).end()  # type: ignore[union-attr]
    if end - start > MAX_STAND_IN:
        return -1
    if end == len(data):
        return None
    if end == start or data[end] != 0x20 or data[start:end] == b"CONNECT":
        return -1
    return end


class _HandOver(Exception):
    """Raised from llhttp's callback to stop at a request that the h11 protocol must parse."""


# Where the fast path is in a connection's stream: it feeds llhttp in pieces that end where a
# message may end, so that it always knows where the next one starts.
_BOUNDARY, _HEAD, _LENGTH, _CHUNKED, _UNSYNCED = range(5)
_BLANK_LINE = b"\r\n\r\n"


class FastPathProtocol(HardenedHttpToolsProtocol):
    """The default: httptools (llhttp) for every method token, the h11 protocol for the rest.

    At the start of each request it reads the method token. One llhttp takes is parsed as sent; any
    other token (FOO, lowercase get) is parsed with a stand-in in its place, and the scope gets the
    token back. What llhttp cannot read that way (an Upgrade or CONNECT request, which llhttp treats
    as a protocol switch; a method that is not a token, or a token over MAX_STAND_IN bytes) makes it
    hand the connection, with the bytes already read, to `FallbackH11Protocol`, which hands it back
    when that request is answered. A request start is known exactly because
    llhttp is fed in pieces that end where a message can end: at a head's blank line, after a
    Content-Length body's last byte, at a blank line inside a chunked body (the last chunk and
    trailers end with one). Should llhttp ever begin a message elsewhere (it is strict about CRLF,
    so only a parser change could do that), the protocol feeds it whole reads until one ends
    between messages; meanwhile an unknown method gets the 400 the plain httptools protocol gives.
    """

    _phase = _BOUNDARY
    # The method token of the request being read, when llhttp reads a stand-in in its place.
    _method: str | None = None

    def _start_over(self) -> None:
        super()._start_over()
        if self._phase != _BOUNDARY:
            # We handed over in the middle of a message (an Upgrade request's head), where llhttp
            # stopped with an error that it keeps: a new parser for the next request.
            self.parser = httptools.HttpRequestParser(self)
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)  # as uvicorn's
        self._phase = _BOUNDARY
        self._body_left = 0
        # The last bytes fed while looking for a blank line, which a read may split.
        self._tail = b""
        # The current head as fed (bounded by the head limit), for a hand-over at its end.
        self._head_pieces: list[memoryview] = []
        # The start of a request too short to tell its method yet.
        self._partial = b""
        # Bytes for the h11 protocol, held while responses to earlier requests are still due.
        self._handoff: list[bytes] | None = None
        self._at_rest = True

    def _partner_class(self) -> type[_Deadlines]:
        return FallbackH11Protocol

    def data_received(self, data: bytes) -> None:
        if self._handoff is not None:
            self._handoff.append(data)
            return
        super().data_received(data)

    def _feed(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._partial:
            data, self._partial, self._head_bytes = self._partial + data, b"", 0
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end and not self._lingering and not self._retired and self._handoff is None:
            phase = self._phase
            if phase == _BOUNDARY:
                while pos < end and data[pos] in b"\r\n":
                    pos += 1  # llhttp skips empty lines before a request; h11 would refuse them
                if pos == end:
                    return
                method_ends = method_end(data, pos)
                if method_ends is None:
                    self._partial = data[pos:]
                    self._head_bytes = len(self._partial)  # the head has begun (a 408 is due)
                    return
                if method_ends < 0:
                    self._hand_over(data[pos:])
                    return
                self._phase = _HEAD
                self._tail = b""
                self._head_pieces.clear()
                method = data[pos:method_ends]
                self._method = None if method in FAST_METHODS else method.decode("ascii")
                if self._method is not None:
                    # llhttp reads the stand-in; a hand-over at the head's end sends the token as sent.
                    self._parse(STAND_IN)
                    self._head_pieces.append(view[pos:method_ends])
                    self._head_bytes += method_ends - pos
                    pos = method_ends
            elif phase == _HEAD:
                room = self.limits.max_head_bytes - self._head_bytes
                if room <= 0:
                    self.refuse(431, head_too_large(self.limits))
                    return
                cut = self._blank_line_end(data, pos, min(end, pos + room))
                piece = view[pos:cut]
                self._head_bytes += cut - pos
                self._head_pieces.append(piece)
                self._keep_tail(piece)
                pos = cut
                if self._parse(piece):
                    self._hand_over(b"".join(self._head_pieces) + data[pos:])
                    return
            elif phase == _LENGTH:
                cut = min(end, pos + self._body_left)
                self._body_left -= cut - pos
                self._parse(view[pos:cut])
                pos = cut
            elif phase == _CHUNKED:
                cut = self._blank_line_end(data, pos, end)
                piece = view[pos:cut]
                self._keep_tail(piece)
                self._parse(piece)
                pos = cut
            else:
                self._parse(view[pos:] if pos else data)
                pos = end
                if self._at_rest:
                    self._phase = _BOUNDARY  # this read ended between messages: in step again

    def _blank_line_end(self, data: bytes, start: int, stop: int) -> int:
        """Where the first blank line from `start` ends (counting bytes fed before), else `stop`."""
        if self._tail:
            probe = self._tail + data[start : start + 3]
            found = probe.find(_BLANK_LINE)
            if found != -1:
                return min(stop, start + found + len(_BLANK_LINE) - len(self._tail))
        found = data.find(_BLANK_LINE, start, stop)
        return stop if found == -1 else found + len(_BLANK_LINE)

    def _keep_tail(self, piece: memoryview) -> None:
        self._tail = bytes(piece[-3:]) if len(piece) >= 3 else (self._tail + bytes(piece))[-3:]

    def _parse(self, piece: memoryview | bytes) -> bool:
        """Feed llhttp; True when it stopped at a request for the h11 protocol."""
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _HandOver):
                return True
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("")
        except httptools.HttpParserError:
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("")
        except httptools.HttpParserUpgrade:
            pass  # not reached: upgrades are handed over before llhttp pauses for them
        return False

    def _hand_over(self, data: bytes) -> None:
        """Give the connection to the h11 protocol from this request on, once earlier ones are answered."""
        if self.pipeline or (self.cycle is not None and not self.cycle.response_complete):
            self._handoff = [data]
            self.flow.pause_reading()
            return
        self._switch(data)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if (
            self._handoff is not None
            and not self.pipeline
            and self.cycle.response_complete
            and not self.transport.is_closing()
        ):
            data, self._handoff = b"".join(self._handoff), None
            self._switch(data)

    # llhttp's callbacks, which move the phase on.

    def on_message_begin(self) -> None:
        if self._phase != _HEAD:
            self._phase = _UNSYNCED  # llhttp began a message where we saw no boundary
        self._at_rest = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        if self._phase == _HEAD:
            if self.parser.should_upgrade():
                # llhttp would skip the body of an Upgrade request and drop what follows: h11
                # takes it like any other (nothing here switches protocols).
                raise _HandOver
            self._head_pieces.clear()  # they may hold a whole read: not kept past the head
        super().on_headers_complete()
        if self._method is not None:
            # The application's task is created, not yet run: it sees the method as sent.
            self.scope["method"] = self._method
            self._method = None
        if self._phase == _HEAD:
            if self._body_length == CHUNKED:
                self._phase = _CHUNKED
                self._tail = b""
            else:
                self._phase = _LENGTH  # with no body, on_message_complete follows at once
                self._body_left = self._body_length

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._at_rest = True
        if self._phase != _UNSYNCED:
            self._phase = _BOUNDARY


class FallbackH11Protocol(HardenedH11Protocol):
    """The h11 protocol that takes a connection from `FastPathProtocol` for one request or more.

    When a request/response cycle ends it hands the connection back, with what h11 has buffered
    (a pipelined request), so that a connection that sent one such request is not on the slow
    parser for good. It is built at a connection's first hand-over and kept, idle, for the next one.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn.on_next_cycle = self._hand_back

    def _start_over(self) -> None:
        super()._start_over()
        if self.conn.retired:
            # What it had buffered went back with the connection: a new one for the next request
            # (h11 has no way to drop a buffer; a Connection costs about a microsecond).
            self.conn = self._new_connection()
            self.conn.on_next_cycle = self._hand_back

    def _partner_class(self) -> type[_Deadlines]:
        return FastPathProtocol

    def _hand_back(self) -> None:
        if self._lingering or self.transport.is_closing():
            return
        data, closed = self.conn.trailing_data
        if closed:
            return
        self.conn.retired = True
        self._switch(data)

    def _let_go(self) -> None:
        self.conn.on_next_cycle = None


# --http: the protocol class serving each connection (each starts on this one).
PROTOCOLS: dict[str, type[asyncio.Protocol]] = {
    "auto": FastPathProtocol,
    "h11": HardenedH11Protocol,
    "httptools": HardenedHttpToolsProtocol,
}
