"""Replay: send a captured request on to another URL exactly as captured, and report what came back."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
import msgspec

from inspector.httpsyntax import TOKEN
from inspector.models import CapturedRequest, Header
from inspector.targets import TargetPolicy, TargetRefused, netloc, parse_target

# The most of a target's answer kept: enough to read any error page, bounded for storage.
RESPONSE_BODY_LIMIT = 1024 * 1024
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Hop-by-hop headers (RFC 9110 section 7.6.1) describe the sender's connection to us, not the
# request; Proxy-* concern a proxy on that connection. Headers the Connection header names are
# hop-by-hop too and are added per request.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "te", "trailer", "trailers", "transfer-encoding", "upgrade"}
)
# Describe the request's framing and destination, so they are recomputed for ours.
RECOMPUTED = frozenset({"host", "content-length"})
# Dropped when a redirect turns the request into a GET without a body.
BODY_HEADERS = frozenset({"content-length", "content-type", "content-encoding", "content-language"})
# Credentials meant for the first origin are not handed to another one on a redirect.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})

# Exactly what h11 accepts as a field value: visible bytes, inner spaces and tabs, nothing else.
FIELD_VALUE = re.compile(rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")

Resolver = Callable[[str, int], Awaitable[list[str]]]


class Overrides(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Edits applied to a captured request before it is sent. Unset fields keep the capture's value.

    Headers are edited in this order: `headers` (when given) replaces the captured list
    wholesale; then every name in `remove_headers` is dropped; then each of `set_headers`
    replaces all headers of its name (at the first one's position) or is appended. Host is set
    for the target unless `set_headers` sets it; Content-Length is always recomputed; hop-by-hop
    headers are always dropped.
    """

    method: str | None = None
    # Replaces the captured sub-path (the part after /b/{bin}); "/" is prepended when missing.
    path_suffix: str | None = None
    # Replaces the captured query string (without the "?"); "" sends none.
    query: str | None = None
    headers: list[Header] | None = None
    set_headers: list[Header] = []
    remove_headers: list[str] = []
    body: bytes | None = None


class Outbound(msgspec.Struct, frozen=True, kw_only=True):
    """One request ready to go out, exactly as it will be written on the wire."""

    method: str
    # scheme://host[:port] then the request target byte for byte (path and query as they will be sent).
    url: str
    # In order, duplicates kept, Host first (h11 writes it first whatever the order); latin-1 text.
    headers: list[Header]
    body: bytes


class Redirect(msgspec.Struct, frozen=True, kw_only=True):
    """A redirect answer that was followed."""

    status: int
    url: str
    location: str


class DeliveryResult(msgspec.Struct, frozen=True, kw_only=True):
    """What was sent and what came back, or why nothing came back."""

    # The request as sent (on the last hop when redirects were followed).
    method: str
    url: str
    request_headers: list[Header]
    request_body_size: int
    request_body_sha256: str
    # The answer; status is None when none arrived.
    status: int | None = None
    reason: str | None = None
    http_version: str | None = None
    response_headers: list[Header] = []
    # The body bytes as the target sent them (Content-Encoding not undone), at most RESPONSE_BODY_LIMIT.
    response_body: bytes = b""
    response_body_truncated: bool = False
    # The redirects followed to get here, in order.
    redirects: list[Redirect] = []
    started_at: datetime
    duration_ms: float
    # In plain words, None on success: "connection refused by 127.0.0.1:3000", "timed out after ...".
    error: str | None = None
    # For programs: refused (by policy), invalid (target), dns, connect, tls, timeout, protocol,
    # redirect; None on success.
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer arrived."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


# --- building the request ---------------------------------------------------------------------


def _request_target(text: str, encoding: str) -> str:
    """`text` with every byte a request line cannot carry percent-encoded, all others kept as they are.

    Captured paths are latin-1 text (one character per wire byte) so their bytes come back
    exactly; text a person typed is UTF-8. '#' is encoded too: it cannot appear in a request
    target, and left bare it would cut the URL short.
    """
    out: list[str] = []
    for char in text:
        if "!" <= char <= "~" and char != "#":
            out.append(char)
        else:
            data = char.encode(encoding if ord(char) < 256 else "utf-8")
            out.extend(f"%{byte:02X}" for byte in data)
    return "".join(out)


def confined_path(sub_path: str) -> str:
    """A captured sub-path with its dot segments resolved within itself (RFC 3986 section 5.2.4), so
    that appended to a target's path it cannot climb above it: /a/../../admin is /admin.

    "%2e" counts as a dot, since many servers decode it before they resolve dot segments.
    Everything else stays byte for byte; a path that ends in a dot segment keeps its final "/".
    """
    if not sub_path:
        return sub_path
    kept: list[str] = []
    segments = sub_path.removeprefix("/").split("/")
    for index, segment in enumerate(segments):
        dots = segment.lower().replace("%2e", ".")
        last = index == len(segments) - 1
        if dots == "..":
            if kept:
                kept.pop()
        elif dots != ".":
            kept.append(segment)
            continue
        if last:
            kept.append("")
    return "/" + "/".join(kept)


def _set_header(headers: list[Header], name: str, value: str) -> list[Header]:
    lower = name.lower()
    out: list[Header] = []
    placed = False
    for key, old in headers:
        if key.lower() != lower:
            out.append((key, old))
        elif not placed:
            out.append((name, value))
            placed = True
    if not placed:
        out.append((name, value))
    return out


def hop_by_hop_names(headers: Iterable[Header]) -> set[str]:
    """Lowercased names of the hop-by-hop headers in a list, those named by Connection included."""
    names = set(HOP_BY_HOP)
    for key, value in headers:
        if key.lower() == "connection":
            names.update(token.strip().lower() for token in value.split(",") if token.strip())
    return names


def _check_headers(headers: list[Header]) -> None:
    for name, value in headers:
        if not TOKEN.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid header name")
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(
                f"the value of header {name!r} has characters HTTP headers cannot carry"
            ) from None
        if not FIELD_VALUE.fullmatch(raw):
            raise ValueError(f"the value of header {name!r} has control characters or line breaks")


def build_outbound(
    captured: CapturedRequest, target_url: str, overrides: Overrides | None = None
) -> Outbound:
    """The request to send to `target_url` for a captured one, with `overrides` applied.

    The URL: the target's path, then the captured sub-path (what followed /b/{bin}), then the
    captured query. Target http://localhost:3000/hook and a capture at /b/abc/github?x=1 give
    http://localhost:3000/hook/github?x=1; a target path ending in "/" does not double the
    slash; a query in the target URL comes first, joined with "&". Bytes a request line cannot
    carry are percent-encoded; nothing else is normalised (no dot-segment removal, no
    re-encoding).

    Headers: the captured ones in order with duplicates, minus hop-by-hop headers, with Host
    set for the target (first) and Content-Length recomputed for the body (where the original
    framing header was; sent whenever there is a body, the method is POST/PUT/PATCH, or the
    capture had one). The body: the exact captured bytes.

    Raises ValueError, in words fit for the person who asked, for a bad URL or bad overrides.
    """
    edits = overrides or Overrides()
    parts = parse_target(target_url)
    host_port = netloc(parts)

    method = edits.method if edits.method is not None else captured.method
    if not TOKEN.fullmatch(method):
        raise ValueError(f"{method!r} is not a valid HTTP method")

    # Captured text maps back to its wire bytes through latin-1; typed text is UTF-8.
    suffix_encoding = "utf-8" if edits.path_suffix is not None else "latin-1"
    suffix = edits.path_suffix if edits.path_suffix is not None else captured.sub_path
    if suffix and not suffix.startswith("/"):
        suffix = f"/{suffix}"
    query_encoding = "utf-8" if edits.query is not None else "latin-1"
    query = edits.query.removeprefix("?") if edits.query is not None else captured.query

    base_path = _request_target(parts.path, "utf-8")
    path = (
        f"{base_path.rstrip('/')}{_request_target(suffix, suffix_encoding)}" if suffix else base_path or "/"
    )
    queries = [_request_target(parts.query, "utf-8"), _request_target(query, query_encoding)]
    joined = "&".join(q for q in queries if q)
    url = f"{parts.scheme.lower()}://{host_port}{path}{f'?{joined}' if joined else ''}"

    if edits.body is not None:
        body = edits.body
    elif captured.rejected is not None:
        raise ValueError(f"this request was not captured ({captured.rejected}); give a body to send instead")
    else:
        body = captured.body

    headers = list(edits.headers) if edits.headers is not None else list(captured.headers)
    removed = {name.lower() for name in edits.remove_headers}
    headers = [(name, value) for name, value in headers if name.lower() not in removed]
    host = host_port
    for name, value in edits.set_headers:
        if name.lower() == "host":
            host = value  # asked for explicitly: a virtual host the target routes on
        else:
            headers = _set_header(headers, name, value)

    dropped = hop_by_hop_names(headers) | RECOMPUTED
    framed = any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers)
    needs_length = bool(body) or method.upper() in ("POST", "PUT", "PATCH") or framed
    # Host and Content-Length are ours to set, but spelt the way the sender spelt its own names
    # (a capture keeps names as received; old captures have them lowercase).
    host_name = next((name for name, _ in headers if name.lower() == "host"), "host")
    length_name = "content-length" if host_name.islower() else "Content-Length"
    out: list[Header] = [(host_name, host)]
    for name, value in headers:
        lower = name.lower()
        if lower in ("content-length", "transfer-encoding") and needs_length:
            # Where the sender framed its body, so the order stays familiar.
            out.append(("content-length" if name.islower() else "Content-Length", str(len(body))))
            needs_length = False
        elif lower not in dropped and not lower.startswith("proxy-"):
            out.append((name, value))
    if needs_length:
        out.append((length_name, str(len(body))))
    _check_headers(out)
    return Outbound(method=method, url=url, headers=out, body=body)


def redirected(outbound: Outbound, status: int, location: str) -> Outbound:
    """The next request when `outbound` was answered with a redirect, as browsers and httpx do it.

    303 (and 301/302 after a POST) become a GET without a body; 307 and 308 repeat the method
    and body. Authorization and Cookie are not carried to another origin.
    """
    parts = parse_target(urljoin(outbound.url, location.strip()))
    host_port = netloc(parts)
    method = outbound.method
    headers = list(outbound.headers)
    body = outbound.body
    if (status == 303 and method.upper() != "HEAD") or (status in (301, 302) and method.upper() == "POST"):
        method, body = "GET", b""
        headers = [(name, value) for name, value in headers if name.lower() not in BODY_HEADERS]
    old = urlsplit(outbound.url)
    if (old.scheme, old.hostname, old.port) != (parts.scheme.lower(), parts.hostname, parts.port):
        headers = [(name, value) for name, value in headers if name.lower() not in CREDENTIAL_HEADERS]
    headers = [(name, host_port) if name.lower() == "host" else (name, value) for name, value in headers]
    path = _request_target(parts.path, "latin-1") or "/"
    query = _request_target(parts.query, "latin-1")
    url = f"{parts.scheme.lower()}://{host_port}{path}{f'?{query}' if query else ''}"
    return Outbound(method=method, url=url, headers=headers, body=body)


# --- connecting only where the policy allows ----------------------------------------------------


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses a host name resolves to, in the resolver's order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for *_, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses


class DeliveryFailure(Exception):
    """A delivery that failed in a way worth telling in plain words."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def exception_chain(exc: BaseException) -> list[BaseException]:
    """An exception and the ones it was raised from, outermost first (bounded: chains can loop)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < 16:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address against the policy, then connects to exactly those addresses.

    This is where DNS rebinding is defeated: the name is resolved once, here, and the socket
    goes to an address that was just checked; nothing resolves it again later. TLS still
    verifies the certificate against the host name, because httpcore passes the URL's host as
    the server name to start_tls after this returns.
    """

    def __init__(self, policy: TargetPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolve = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._resolve(host, port)
        except TimeoutError:
            message = f"DNS lookup for host {host} timed out after {_seconds(timeout)} s"
            raise DeliveryFailure(message, "dns") from None
        except OSError as exc:
            raise DeliveryFailure(
                f"DNS lookup failed for host {host} ({exc.strerror or exc})", "dns"
            ) from exc
        if not addresses:
            raise DeliveryFailure(f"DNS lookup failed for host {host} (no addresses)", "dns")
        self._policy.check_addresses(host, addresses)

        where = _where(host, port)
        if addresses != [host.strip("[]")]:
            where += f" ({', '.join(addresses)})"
        errors: list[OSError] = []
        # One address after the other, in the resolver's order: each was checked above.
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                causes = [
                    error for error in exception_chain(exc) if isinstance(error, OSError) and error.errno
                ]
                errors.append(causes[-1] if causes else OSError(str(exc)))
        if all(error.errno == errno.ECONNREFUSED for error in errors):
            raise DeliveryFailure(f"connection refused by {where}", "connect")
        reason = errors[-1].strerror or str(errors[-1])
        raise DeliveryFailure(f"could not connect to {where} ({reason})", "connect")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DeliveryFailure("unix sockets are not a delivery target", "refused")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def make_client(
    policy: TargetPolicy, *, resolver: Resolver | None = None, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """An HTTP client whose every connection goes through the policy's checks.

    Share one for many deliveries (an auto-forward worker) to reuse connections; pass it to
    `deliver` with the same policy. `verify=False` accepts any TLS certificate.
    """
    transport = httpx.AsyncHTTPTransport(verify=verify, retries=0)
    # httpx has no public hook for the network backend, so its pool is replaced by one built
    # the same way with ours. trust_env=False below: no proxy from the environment may carry
    # requests around the checks, and no .netrc credentials are added.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_GuardedBackend(policy, resolver or system_resolver),
    )
    return httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False)


# --- sending -----------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    text = f"{value:.1f}"
    return text if float(text) == value else f"{value:g}"


@dataclass
class _Answer:
    status: int | None = None
    reason: str | None = None
    http_version: str | None = None
    headers: list[Header] = field(default_factory=list)
    body: bytes = b""
    truncated: bool = False
    error: str | None = None
    error_kind: str | None = None


def _split(url: str) -> tuple[str, str, int, bytes]:
    """scheme, host, port and the exact request target of an Outbound URL."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query or url.endswith("?"):
        target += f"?{parts.query}"
    return parts.scheme, parts.hostname or "", port, target.encode("latin-1")


def _tls_message(exc: BaseException) -> str:
    for error in exception_chain(exc):
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"TLS handshake failed: certificate verify failed ({error.verify_message})"
        if isinstance(error, ssl.SSLError):
            words = re.sub(r"^\[[^\]]*\]\s*|\s*\(_ssl\.c:\d+\)$", "", str(error.strerror or error))
            if "wrong version number" in words or "record layer failure" in words:
                words += "; is the target speaking plain HTTP? try http://"
            return f"TLS handshake failed: {words}"
    return "TLS handshake failed: the target closed the connection"


async def _exchange(
    client: httpx.AsyncClient,
    outbound: Outbound,
    policy: TargetPolicy,
    timeout: float,  # noqa: ASYNC109 - it also sets httpx's per-phase timeouts, not only a deadline
    body_limit: int,
) -> _Answer:
    answer = _Answer()
    try:
        policy.check_url(outbound.url)
    except TargetRefused as exc:
        answer.error, answer.error_kind = f"refused by target policy: {exc.reason}", "refused"
        return answer
    scheme, host, port, target = _split(outbound.url)
    where = _where(host, port)
    phase = "connection.connect_tcp"

    async def trace(name: str, info: dict[str, Any]) -> None:
        nonlocal phase
        # Closing comes after the part that failed; the failed part is what the message names.
        if name.endswith(".started") and "close" not in name:
            phase = name.removesuffix(".started")

    try:
        request = httpx.Request(
            outbound.method,
            # Only the origin goes through httpx's URL handling; the exact path and query go on
            # the request line through httpcore's "target" extension, so nothing is normalised.
            f"{scheme}://{host if ':' not in host else f'[{host}]'}:{port}/",
            headers=[(name.encode("latin-1"), value.encode("latin-1")) for name, value in outbound.headers],
            content=outbound.body,
            extensions={"target": target, "trace": trace, "timeout": httpx.Timeout(timeout).as_dict()},
        )
    except (httpx.InvalidURL, UnicodeEncodeError) as exc:
        # parse_target should have refused it; should it not, this says so instead of raising.
        answer.error, answer.error_kind = f"the HTTP client cannot send to {where} ({exc})", "invalid"
        return answer
    chunks: list[bytes] = []
    try:
        # httpx's timeouts bound each read; this bounds the whole exchange, so a target that
        # trickles a byte at a time cannot hold a delivery open forever.
        async with asyncio.timeout(timeout):
            response = await client.send(request, stream=True, follow_redirects=False)
            answer.status = response.status_code
            answer.reason = response.reason_phrase
            answer.http_version = response.http_version
            answer.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
            try:
                size = 0
                async for chunk in response.aiter_raw():
                    if size + len(chunk) > body_limit:
                        chunks.append(chunk[: body_limit - size])
                        answer.truncated = True
                        break
                    chunks.append(chunk)
                    size += len(chunk)
            finally:
                await response.aclose()
    except TargetRefused as exc:
        answer.error, answer.error_kind = f"refused by target policy: {exc.reason}", "refused"
    except DeliveryFailure as exc:
        answer.error, answer.error_kind = exc.message, exc.kind
    except (TimeoutError, httpx.TimeoutException):
        doing = {
            "connection.connect_tcp": f"connecting to {where}",
            "connection.start_tls": f"in the TLS handshake with {where}",
            "http11.send_request_headers": "sending the request",
            "http11.send_request_body": "sending the request",
            "http11.receive_response_body": "reading the response body",
        }.get(phase, "waiting for a response")
        answer.error, answer.error_kind = f"timed out after {_seconds(timeout)} s {doing}", "timeout"
    except httpx.ConnectError as exc:
        if phase == "connection.start_tls":
            answer.error, answer.error_kind = _tls_message(exc), "tls"
        else:
            answer.error, answer.error_kind = f"could not connect to {where} ({exc})", "connect"
    except httpx.RemoteProtocolError as exc:
        if answer.status is None and "without sending" in str(exc):
            answer.error = f"the target ({where}) closed the connection without answering"
        else:
            answer.error = f"the target's answer was not valid HTTP ({exc})"
        answer.error_kind = "protocol"
    except httpx.LocalProtocolError as exc:
        answer.error, answer.error_kind = f"the request could not be sent ({exc})", "protocol"
    except httpx.TransportError as exc:
        doing = "reading the response" if answer.status is not None else "sending the request"
        detail = str(exc) or type(exc).__name__
        answer.error, answer.error_kind = (
            f"the connection to {where} broke while {doing} ({detail})",
            "connect",
        )
    answer.body = b"".join(chunks)
    return answer


async def deliver(
    outbound: Outbound,
    *,
    policy: TargetPolicy,
    timeout: float,  # noqa: ASYNC109 - it also sets httpx's per-phase timeouts, not only a deadline
    follow_redirects: bool = False,
    client: httpx.AsyncClient | None = None,
    body_limit: int = RESPONSE_BODY_LIMIT,
) -> DeliveryResult:
    """Send `outbound` and report the answer; never raises for network trouble, it says it in `error`.

    `timeout` bounds each hop as a whole (connecting, sending, the answer and its body).
    Redirects are followed only when asked, at most MAX_REDIRECTS, each hop checked against the
    policy before connecting. `client` should come from `make_client` with the same policy (the
    policy's address checks live in its connections); without one a client is made and closed.
    """
    started_at = datetime.now(UTC)
    start = time.perf_counter()
    own_client = client is None
    http = client if client is not None else make_client(policy)
    redirects: list[Redirect] = []
    current = outbound
    try:
        while True:
            answer = await _exchange(http, current, policy, timeout, body_limit)
            location = next((v for k, v in answer.headers if k.lower() == "location"), None)
            if (
                answer.error is not None
                or not follow_redirects
                or answer.status not in REDIRECT_STATUSES
                or location is None
            ):
                break
            if len(redirects) == MAX_REDIRECTS:
                answer.error, answer.error_kind = f"stopped after {MAX_REDIRECTS} redirects", "redirect"
                break
            try:
                following = redirected(current, answer.status, location)
            except ValueError as exc:
                answer.error, answer.error_kind = (
                    f"cannot follow the redirect to {location!r}: {exc}",
                    "redirect",
                )
                break
            redirects.append(Redirect(status=answer.status, url=current.url, location=following.url))
            current = following
    finally:
        if own_client:
            await http.aclose()
    return DeliveryResult(
        method=current.method,
        url=current.url,
        request_headers=current.headers,
        request_body_size=len(current.body),
        request_body_sha256=hashlib.sha256(current.body).hexdigest(),
        status=answer.status,
        reason=answer.reason,
        http_version=answer.http_version,
        response_headers=answer.headers,
        response_body=answer.body,
        response_body_truncated=answer.truncated,
        redirects=redirects,
        started_at=started_at,
        duration_ms=round((time.perf_counter() - start) * 1000, 1),
        error=answer.error,
        error_kind=answer.error_kind,
    )


# What another attempt may fix: the network, a timeout, an overloaded or failing target.
RETRY_ERRORS = frozenset({"dns", "connect", "tls", "timeout", "protocol"})
RETRY_STATUSES = frozenset({429})


def should_retry(result: DeliveryResult) -> bool:
    """True when the delivery failed in a way another attempt may fix."""
    if result.error_kind is not None:
        return result.error_kind in RETRY_ERRORS
    return result.status is not None and (result.status >= 500 or result.status in RETRY_STATUSES)
