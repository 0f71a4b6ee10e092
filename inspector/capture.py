"""The capture endpoint: any request to /b/{bin}/... is stored exactly as sent, then answered."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from inspector.bincache import BinCache
from inspector.bins import without_token_cookies
from inspector.config import Settings, format_size
from inspector.extensions import RAW_HEADERS, RESPOND, Respond
from inspector.handshakes import Reply, answer, recognise
from inspector.hub import Event, Hub
from inspector.models import CapturedRequest, Header
from inspector.proxies import resolve_origin
from inspector.ratelimit import RateLimiter
from inspector.responses import (
    INERT_ANSWER,
    PREFLIGHT_STATUS,
    ResponseSettings,
    build_answer,
    choose,
    cors_headers,
    cors_preflight_headers,
    is_preflight,
)
from inspector.store import BinNotFound, Store, StoreClosed, Stored, StoreUnavailable

if TYPE_CHECKING:
    from inspector.metrics import CaptureTally

log = structlog.get_logger(__name__)

PREFIX = "/b/"

Scope = dict[str, Any]
Message = dict[str, Any]


def is_capture_path(path: str) -> bool:
    return path.startswith(PREFIX) or path == "/b"


class BodyTooLarge(Exception):
    """The sender's body passed the size limit; `size` is what it declared, when it did."""

    def __init__(self, size: int | None) -> None:
        self.size = size


class Capture:
    """A plain ASGI app for /b/...: Litestar's routing cannot take arbitrary method tokens.

    The answer goes out only after the store has committed the request, so a 2xx always
    means the request is durable.
    """

    def __init__(
        self,
        settings: Settings,
        bins: BinCache,
        store: Store,
        hub: Hub,
        *,
        bin_limiter: RateLimiter | None = None,
        client_limiter: RateLimiter | None = None,
        tally: CaptureTally | None = None,
    ) -> None:
        self._settings = settings
        # Answers by status and their latency, for /metrics.
        self._tally = tally
        self._bins = bins
        self._store = store
        self._hub = hub
        self._bin_limiter = bin_limiter
        self._client_limiter = client_limiter
        # Refused captures per bin, shown on the bin's page and in the API (kept in memory).
        self.refused: OrderedDict[str, int] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        status: int | None = None
        try:
            status = await self._capture(scope, receive, send)
        finally:
            if self._tally is not None:
                # The answer is the request's last act, so its end is when its head went out.
                if status is not None:
                    self._tally.took(time.perf_counter() - started)
                self._tally.answered(status)

    async def _capture(self, scope: Scope, receive: Any, send: Any) -> int | None:
        """Store the request, then answer it; the status answered (None: the sender went away)."""
        received_at = datetime.now(UTC)
        # The server's one-write answer, for answers whose headers are all our own.
        respond: Respond | None = (scope.get("extensions") or {}).get(RESPOND)
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        # Some servers and test clients leave the query in raw_path.
        path = raw_path.split(b"?", 1)[0].decode("latin-1")
        bin_id, slash, rest = path[len(PREFIX) :].partition("/")
        if not bin_id:
            detail = "This URL names no bin: capture URLs look like /b/{bin}/anything."
            return await answer_error(send, 404, detail, respond=respond)
        bin = await self._bins.get(bin_id)
        if bin is None or bin.expires_at <= received_at:
            detail = f"There is no bin named {bin_id!r}; it may have expired."
            return await answer_error(send, 404, detail, respond=respond)

        # The scope's names are lowercase (for the framework); the capture keeps them as sent when
        # the protocol passed them on (inspector.server does), else the scope's are all there is.
        raw = (scope.get("extensions") or {}).get(RAW_HEADERS) or scope["headers"]
        headers: list[Header] = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]
        size, host, declared, credentials = _scan(scope["headers"])
        if credentials:
            headers = _without_credentials(headers)
        origin = self._origin(scope, headers, host)

        def described(
            body: bytes = b"", body_size: int | None = None, rejected: str | None = None
        ) -> CapturedRequest:
            return _request(
                scope, bin_id, path, slash + rest, headers, origin, received_at, body, body_size, rejected
            )

        if problem := self._header_problem(len(raw), size):
            await self._store_rejected(described(rejected=problem))
            return await answer_error(send, 431, f"Refused: {problem}.", respond=respond)
        if retry_after := await self._rate_limited(bin_id, origin[0]):
            return await answer_error(
                send,
                429,
                "Too many requests to this bin; slow down.",
                extra=[(b"retry-after", retry_after.encode())],
                respond=respond,
            )
        limit = self._settings.max_body_size
        try:
            body = await _read_body(receive, limit, declared)
        except BodyTooLarge as exc:
            reason = f"body larger than the {format_size(limit)} limit"
            await self._store_rejected(described(body_size=exc.size, rejected=reason))
            detail = f"The body is larger than this server's limit of {format_size(limit)} ({limit} bytes)."
            return await answer_error(send, 413, detail, respond=respond)
        except ConnectionError:
            return None  # the sender hung up mid-body: there is nobody to acknowledge
        request = described(body, len(body))
        try:
            stored = await self._store.add_capture(request)
        except BinNotFound:
            return await answer_error(send, 404, f"The bin {bin_id!r} was deleted.", respond=respond)
        except StoreClosed:
            detail = "The server is shutting down; send the request again shortly."
            return await answer_error(send, 503, detail, respond=respond)
        except StoreUnavailable:  # the store has logged why (disk full, I/O error)
            detail = "The request could not be stored; nothing was kept. Try again."
            return await answer_error(send, 503, detail, respond=respond)
        except Exception:
            log.exception("capture could not be stored", bin=bin_id)
            detail = "The request could not be stored; nothing was kept. Try again."
            return await answer_error(send, 503, detail, respond=respond)
        request_id = stored.id
        background = bool(bin.forward_targets) or bin.has_secrets
        await self._hub.announce(captured_event(request, stored, background=background))
        request_id_header = (b"x-inspector-request-id", str(request_id).encode())
        answers = bin.response
        if answers and answers.handshakes and (reply := await self._handshake(request, answers)):
            return await _send(send, reply.status, _handshake_headers(reply, request_id_header), reply.body)
        if answers and answers.cors and is_preflight(request.method, headers):
            preflight = [*cors_preflight_headers(headers), *INERT_ANSWER, request_id_header]
            return await _send(send, PREFLIGHT_STATUS, preflight, b"")
        spec = choose(answers, request.method, request.sub_path) if answers else None
        if answers is None or spec is None:
            cors = cors_headers(headers) if answers and answers.cors else []
            return await _answer(
                send,
                200,
                msgspec.json.encode({"ok": True, "request_id": request_id}),
                head=request.method == "HEAD",
                extra=[request_id_header, *cors],
                respond=respond,
            )
        # Templates may use the request's id, so the answer is built from the stored request.
        answer = build_answer(spec, msgspec.structs.replace(request, id=request_id), cors=answers.cors)
        if answer.delay_seconds:
            # The request is already stored: the delay only holds the answer, as the user asked.
            await asyncio.sleep(min(answer.delay_seconds, self._settings.max_response_delay_seconds))
        return await _send(send, answer.status, [*answer.headers, request_id_header], answer.body)

    async def _handshake(self, request: CapturedRequest, answers: ResponseSettings) -> Reply | None:
        """The answer a provider's URL-verification challenge expects, when the request is one."""
        challenge = recognise(request)
        if challenge is None:
            return None
        zoom_secret = None
        if challenge.provider == "Zoom":
            # Only a Zoom challenge costs a store read: its answer is signed with the remembered secret.
            try:
                secrets = await self._store.get_secrets(request.bin_id)
            except Exception as exc:
                log.warning("zoom secret not read for a handshake", bin=request.bin_id, error=str(exc))
                secrets = []
            zoom_secret = next((item.secret for item in secrets if item.provider == "zoom"), None)
        outcome = answer(request, zoom_secret=zoom_secret, verify_token=answers.verify_token)
        return outcome.reply if outcome else None

    def _header_problem(self, count: int, size: int) -> str | None:
        if count > self._settings.max_headers:
            return f"{count} headers, more than this server's limit of {self._settings.max_headers}"
        if size > self._settings.max_header_bytes:
            return (
                f"headers of {size} bytes, more than this server's limit of {self._settings.max_header_bytes}"
            )
        return None

    async def _rate_limited(self, bin_id: str, client_ip: str | None) -> str | None:
        """The Retry-After value when a limit refuses this capture; None when it may go through."""
        for limiter, key in ((self._bin_limiter, bin_id), (self._client_limiter, client_ip or "")):
            if limiter is None:
                continue
            decision = await limiter.check(key)
            if not decision.allowed:
                self.refused[bin_id] = self.refused.get(bin_id, 0) + 1
                self.refused.move_to_end(bin_id)
                if len(self.refused) > 100_000:
                    self.refused.popitem(last=False)
                return decision.retry_after_header
        return None

    def _origin(self, scope: Scope, headers: list[Header], host: str | None) -> Origin:
        """Who sent the request and to which URL (`host`: its first Host header), proxies the
        operator trusts taken into account."""
        peer = scope.get("client") or (None, None)
        if host is None:
            server = scope.get("server") or ("", None)
            host = f"{server[0]}:{server[1]}" if server[1] else str(server[0])
        client_ip, scheme, host = resolve_origin(
            peer=peer[0],
            scheme=scope.get("scheme", "http"),
            host=host,
            headers=headers,
            trusted=self._settings.trusted_proxies,
        )
        scheme = scope.get("scheme", "http") if scheme not in ("http", "https") else scheme
        return client_ip, peer[1] if client_ip == peer[0] else None, host, scheme

    async def _store_rejected(self, request: CapturedRequest) -> None:
        # The user should see that a delivery was tried even though its body was refused.
        try:
            stored = await self._store.add_capture(request)
        except Exception as exc:
            log.warning("rejected request not recorded", bin=request.bin_id, error=str(exc))
            return
        await self._hub.announce(captured_event(request, stored))


# The sender's address and port (the port only when the address is the peer's), host and scheme.
Origin = tuple[str | None, int | None, str, str]


def _request(
    scope: Scope,
    bin_id: str,
    path: str,
    sub_path: str,
    headers: list[Header],
    origin: Origin,
    received_at: datetime,
    body: bytes,
    body_size: int | None,
    rejected: str | None,
) -> CapturedRequest:
    """The capture as stored: the body's digest is of what was kept (none when it was refused)."""
    client_ip, client_port, host, scheme = origin
    return CapturedRequest(
        bin_id=bin_id,
        method=scope["method"],
        path=path,
        sub_path=sub_path,
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=body,
        body_size=body_size,
        body_sha256=hashlib.sha256(body).hexdigest() if rejected is None else None,
        client_ip=client_ip,
        client_port=client_port,
        host=host,
        scheme=scheme,
        http_version=scope.get("http_version", "1.1"),
        received_at=received_at,
        rejected=rejected,
    )


# Captures with bodies up to this size travel in their events (in this process); larger ones are read
# back from the store. A slow subscriber's queue may hold a thousand events, and keeps their bodies.
HELD_BODY_LIMIT = 64 * 1024


def captured_event(request: CapturedRequest, stored: Stored, *, background: bool = False) -> Event:
    """The event of a committed capture, carrying the capture (unless its body is large): in this
    process, live views render it without reading it back when `previous` shows they skip nothing
    (web/live.follow)."""
    held = len(request.body) <= HELD_BODY_LIMIT
    return Event(
        kind="request",
        bin_id=request.bin_id,
        request_id=stored.id,
        background=background,
        previous=stored.previous,
        captured=msgspec.structs.replace(request, id=stored.id) if held else None,
    )


def _handshake_headers(reply: Reply, request_id: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    # The challenge is the sender's text: nosniff and the sandbox CSP keep it inert on this origin.
    return [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", str(len(reply.body)).encode()),
        *INERT_ANSWER,
        request_id,
    ]


def _without_credentials(headers: list[Header]) -> list[Header]:
    kept = []
    for name, value in headers:
        if name.lower() == "cookie":
            value = without_token_cookies(value)
            if not value:
                continue
        kept.append((name, value))
    return kept


def _scan(headers: list[tuple[bytes, bytes]]) -> tuple[int, str | None, int | None, bool]:
    """One pass over the scope's (lowercase) headers: their size as sent, the first Host, the
    declared Content-Length (None if absent or not a number), and whether a cookie holds one of our
    tokens (a browser sending a bin our credentials)."""
    size, host, declared, credentials = 0, None, None, False
    for name, value in headers:
        size += len(name) + len(value) + 4
        if name == b"host":
            if host is None:
                host = value.decode("latin-1")
        elif name == b"content-length":
            if declared is None:
                declared = int(value) if value.isdigit() else -1
        elif name == b"cookie" and b"inspector_" in value:
            credentials = True
    return size, host, declared if declared != -1 else None, credentials


async def _read_body(receive: Any, limit: int, declared: int | None) -> bytes:
    if declared is not None and declared > limit:
        raise BodyTooLarge(declared)
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(declared)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


async def _answer(
    send: Any,
    status: int,
    body: bytes,
    *,
    head: bool = False,
    extra: list[tuple[bytes, bytes]] | None = None,
    respond: Respond | None = None,
) -> int:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *INERT_ANSWER,
        *(extra or []),
    ]
    if respond is not None:
        await respond(status, headers, b"" if head else body)
        return status
    return await _send(send, status, headers, b"" if head else body)


async def answer_error(
    send: Any,
    status: int,
    detail: str,
    *,
    extra: list[tuple[bytes, bytes]] | None = None,
    respond: Respond | None = None,
) -> int:
    body = msgspec.json.encode({"status_code": status, "detail": detail})
    return await _answer(send, status, body, extra=extra, respond=respond)
