"""A captured request as a cURL command, raw HTTP bytes or a HAR 1.2 log."""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from inspector import __version__
from inspector.bodies import parse_urlencoded
from inspector.httpsyntax import TOKEN

if TYPE_CHECKING:
    from inspector.models import CapturedRequest, Header

# Meaningful for one connection only (RFC 9110 §7.6.1), so never replayed.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# curl writes these itself: Content-Length from the body, Host from the URL.
CURL_COMPUTES = frozenset({"content-length", "host"})
# Headers curl adds on its own unless told not to, and when it adds them.
_CURL_DEFAULTS = (("User-Agent", False), ("Accept", False), ("Content-Type", True), ("Expect", True))
# Bodies up to this size that are plain UTF-8 text go inline; others are piped in as base64.
INLINE_BODY_LIMIT = 32 * 1024


# --- cURL -----------------------------------------------------------------------------


def to_curl(request: CapturedRequest, target_url: str | None = None, *, body_file: str | None = None) -> str:
    """A POSIX sh command that makes the same request with curl.

    The method, the path (percent-encoding and repeated slashes kept), the raw query, every
    header in order with duplicates and the exact body bytes are reproduced. Hop-by-hop
    headers, Content-Length and Host are left to curl: Host then follows the URL, which is
    the original one unless `target_url` (scheme, host and an optional base path, say
    http://localhost:3000/hooks) replaces everything up to the part after /b/{bin_id}.
    With `body_file` the body is read from that file (saved beside the command) instead of
    being written into it, for bodies too large to show.
    """
    url = _curl_url(request, target_url)
    headers = [(name, value) for name, value in request.headers if name.lower() not in _CURL_SKIPS]
    present = {name.lower() for name, _ in headers}
    # A sender that declared an empty body (Content-Length: 0) still gets one.
    has_body = bool(request.body) or any(name.lower() in _BODY_HEADERS for name, _ in request.headers)

    args = ["curl", "--path-as-is", "--globoff"]
    if request.http_version in ("1.0", "HTTP/1.0"):
        args.append("--http1.0")
    method = request.method
    if method == "HEAD" and not has_body:
        args.append("--head")  # -X HEAD would leave curl waiting for a body that never comes
    elif (method, has_body) not in (("GET", False), ("POST", True)):
        args += ["--request", method]
    # One option per line, for reading and editing.
    lines = [f"{shlex.join(args)} {_shell_word(url)}"]
    for name, value in headers:
        # "name:" with nothing after it tells curl to drop a header; "name;" sends it empty.
        line = f"{name}: {value}" if value.strip() else f"{name};"
        lines.append("-H " + _shell_word(line.encode("latin-1")))
    for name, only_with_body in _CURL_DEFAULTS:
        if name.lower() not in present and (has_body or not only_with_body):
            lines.append("-H " + shlex.quote(f"{name}:"))

    prefix = ""
    if has_body and body_file is not None:
        lines.append("--data-binary " + shlex.quote(f"@{body_file}"))
    elif has_body:
        text = _inline_text(request.body)
        if text is not None:
            # --data-raw, unlike --data-binary, never reads a file for a body starting with @.
            lines.append("--data-raw " + shlex.quote(text))
        else:
            # NUL cannot travel in argv, so the bytes come in on stdin as base64.
            encoded = base64.b64encode(request.body).decode("ascii")
            prefix = f"printf '%s' {shlex.quote(encoded)} | base64 -d | "
            lines.append("--data-binary @-")
    return prefix + " \\\n  ".join(lines)


_CURL_SKIPS = HOP_BY_HOP | CURL_COMPUTES
_BODY_HEADERS = frozenset({"content-length", "transfer-encoding"})


def _curl_url(request: CapturedRequest, target_url: str | None) -> bytes:
    if target_url is None:
        return request.url.encode("latin-1")
    parts = urlsplit(target_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"target URL must be http(s)://host[:port][/base path]: {target_url!r}")
    base = target_url.removesuffix("/") if request.sub_path.startswith("/") else target_url
    query = f"?{request.query}" if request.query else ""
    # The target is typed by a person (so UTF-8); the rest is wire bytes held as latin-1.
    return base.encode("utf-8") + f"{request.sub_path}{query}".encode("latin-1")


def _inline_text(body: bytes) -> str | None:
    """The body as text when it can be passed in argv and pasted into a terminal unchanged."""
    if len(body) > INLINE_BODY_LIMIT:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # CR and other controls can be altered by terminals and paste buffers; NUL cannot be in argv.
    if any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0 for c in text):
        return None
    return text


def _shell_word(raw: bytes) -> str:
    """Quote bytes as one sh word that expands to exactly those bytes."""
    if b"\0" in raw or b"\n" in raw or b"\r" in raw:
        # Impossible in a request line or header from the wire; refusing keeps curl's framing intact.
        raise ValueError(f"cannot pass NUL, CR or LF in a URL or header: {raw!r}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.isprintable():
        # The command is run as UTF-8, which turns this text back into the same bytes.
        return shlex.quote(text)
    # Other bytes are spelled as printf octal escapes, which need no particular terminal encoding.
    escaped = "".join(_printf_escape(byte) for byte in raw)
    return f"\"$(printf '{escaped}')\""


def _printf_escape(byte: int) -> str:
    if byte == ord("%"):
        return "%%"
    if 0x20 <= byte < 0x7F and byte not in b"\\'":
        return chr(byte)
    return f"\\{byte:03o}"


# --- raw HTTP -------------------------------------------------------------------------


def _http_version(request: CapturedRequest) -> str:
    version = request.http_version
    return version if version.startswith("HTTP/") else f"HTTP/{version}"


def _head(request: CapturedRequest) -> bytes:
    target = request.path + (f"?{request.query}" if request.query else "")
    lines = [f"{request.method} {target} {_http_version(request)}"]
    lines += [f"{name}: {value}" if value else f"{name}:" for name, value in request.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def to_raw_http(request: CapturedRequest, *, max_body: int | None = None) -> bytes:
    """The request as HTTP/1.x bytes: request line, headers in order, blank line, body.

    The stored body has had its chunked framing removed by the server, so when the request
    declared Transfer-Encoding: chunked the body is framed again as a single chunk, which keeps
    the message valid for the headers it carries. `max_body` cuts the body (after framing) for
    display, without copying all of a large one.
    """
    body = request.body
    if _is_chunked(request.headers):
        size = f"{len(body):x}\r\n".encode() if body else b""
        if max_body is not None and len(body) > max_body:
            return _head(request) + size + body[:max_body]
        body = (size + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    return _head(request) + (body[:max_body] if max_body is not None else body)


def _is_chunked(headers: Iterable[Header]) -> bool:
    codings = [
        c.strip().lower() for n, v in headers if n.lower() == "transfer-encoding" for c in v.split(",")
    ]
    return bool(codings) and codings[-1] == "chunked"


# --- HAR ------------------------------------------------------------------------------

HAR_CREATOR = "Webhook Inspector"


def to_har(requests: Iterable[CapturedRequest]) -> dict[str, Any]:
    """A HAR 1.2 log with one entry per request and the spec's empty values for the missing response.

    A body that is not UTF-8 is given in postData.text as base64 with the custom field
    `"_encoding": "base64"` (HAR allows custom fields that start with "_"; the spec's own
    `encoding` field exists only for response content) and a comment saying so.
    """
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": HAR_CREATOR, "version": __version__},
            "pages": [],
            "entries": [har_entry(request) for request in requests],
        }
    }


def har_entry(request: CapturedRequest) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "startedDateTime": _iso8601(request.received_at),
        "time": 0,
        "request": _har_request(request),
        "response": {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        "_binId": request.bin_id,
        "_requestId": request.id,
    }
    if request.client_ip:
        entry["_clientAddress"] = request.client_ip
    if request.client_port is not None:
        entry["_clientPort"] = request.client_port
    if request.rejected:
        entry["comment"] = f"Rejected by Webhook Inspector: {request.rejected}"
        entry["_rejected"] = request.rejected
    return entry


# Marks a HAR text that holds wire bytes as latin-1 because they are not UTF-8 (so `_text` kept them):
# without it an importer could not tell such text from UTF-8 text, and the bytes would not come back.
LATIN1 = "latin-1"


def _is_latin1_only(wire_text: str) -> bool:
    return not wire_text.isascii() and _text(wire_text) == wire_text


def _har_header(name: str, value: str) -> dict[str, str]:
    header = {"name": name, "value": _text(value)}
    if _is_latin1_only(value):
        header["_encoding"] = LATIN1
    return header


def _har_request(request: CapturedRequest) -> dict[str, Any]:
    har: dict[str, Any] = {
        "method": request.method,
        "url": _text(request.url),
        "httpVersion": _http_version(request),
        "cookies": _cookies(request),
        "headers": [_har_header(name, value) for name, value in request.headers],
        "queryString": _name_values(parse_urlencoded(request.query.encode("latin-1"))),
        "headersSize": len(_head(request)),
        "bodySize": len(request.body),
    }
    if _is_latin1_only(request.url):
        har["_urlEncoding"] = LATIN1
    if request.body or any(name.lower() in _BODY_HEADERS for name, _ in request.headers):
        har["postData"] = _post_data(request)
    return har


def _post_data(request: CapturedRequest) -> dict[str, Any]:
    content_type = request.content_type or ""
    post: dict[str, Any] = {"mimeType": content_type, "params": []}
    try:
        post["text"] = request.body.decode("utf-8")
    except UnicodeDecodeError:
        post["text"] = base64.b64encode(request.body).decode("ascii")
        post["_encoding"] = "base64"
        post["comment"] = "The body is not UTF-8: text holds it base64-encoded."
        return post
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        # Browsers' HAR files list the fields as well as the text; the text stays the exact body.
        post["params"] = _name_values(parse_urlencoded(request.body))
    return post


def _cookies(request: CapturedRequest) -> list[dict[str, str]]:
    cookies = []
    for header in request.header_values("cookie"):
        for pair in header.split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep:
                cookies.append({"name": _text(name), "value": _text(value)})
    return cookies


def _name_values(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _text(wire_text: str) -> str:
    """Wire text as readers expect it: UTF-8 when the bytes are UTF-8, else latin-1 as stored."""
    try:
        return wire_text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return wire_text


def _iso8601(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the store keeps UTC
    return moment.isoformat(timespec="milliseconds")


# --- HAR import ---------------------------------------------------------------------------


class BadImport(ValueError):
    """What was given to import is not a HAR log or NDJSON this server can read; the message says where."""


def _wire(text: Any, encoding: Any, where: str) -> str:
    """HAR text back to wire text (latin-1 over the bytes): the inverse of `_text`, told by the marker."""
    if not isinstance(text, str):
        raise BadImport(f"{where} must be a string")
    if encoding == LATIN1:
        if not all(ord(c) < 256 for c in text):
            raise BadImport(f"{where} is marked latin-1 but holds other characters")
        return text
    try:
        return text.encode("utf-8").decode("latin-1")
    except UnicodeEncodeError:
        raise BadImport(f"{where} is not valid Unicode text") from None


def _har_body(post: Any, where: str) -> bytes:
    if post is None:
        return b""
    if not isinstance(post, dict):
        raise BadImport(f"{where}.postData must be an object")
    text = post.get("text", "")
    if not isinstance(text, str):
        raise BadImport(f"{where}.postData.text must be a string")
    if post.get("_encoding") == "base64" or post.get("encoding") == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except ValueError:
            raise BadImport(f"{where}.postData.text is marked base64 but is not") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadImport(f"{where}.postData.text is not valid Unicode text") from None


def from_har(log: Any, *, bin_id: str, path_prefix: str) -> list[CapturedRequest]:
    """The requests of a HAR log as captures of `bin_id` (whose capture paths start `path_prefix`).

    A log this server exported comes back byte for byte: method, sub-path, query, headers in order
    with duplicates, body. For other HAR files the URL's whole path becomes the sub-path.
    """
    # Imported here: models imports responses, which imports this module.
    from inspector.models import CapturedRequest

    entries = log.get("log", {}).get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise BadImport("a HAR file is an object with log.entries, a list")
    captures = []
    for index, entry in enumerate(entries):
        where = f"log.entries[{index}]"
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict):
            raise BadImport(f"{where}.request must be an object")
        method = request.get("method")
        if not isinstance(method, str) or not method or not method.isascii() or " " in method:
            raise BadImport(f"{where}.request.method must be an HTTP method")
        url = _wire(request.get("url"), request.get("_urlEncoding"), f"{where}.request.url")
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in ("http", "https"):
            raise BadImport(f"{where}.request.url must be an http(s) URL")
        host, _, target = rest.partition("/")
        target = "/" + target
        path, _, query = target.partition("?")
        old_prefix = f"/b/{entry.get('_binId')}" if isinstance(entry.get("_binId"), str) else None
        sub_path = path
        if old_prefix and (path == old_prefix or path.startswith(old_prefix + "/")):
            sub_path = path[len(old_prefix) :]
        headers_in = request.get("headers", [])
        if not isinstance(headers_in, list):
            raise BadImport(f"{where}.request.headers must be a list")
        headers: list[Header] = []
        for n, header in enumerate(headers_in):
            if not isinstance(header, dict) or not isinstance(header.get("name"), str):
                raise BadImport(f"{where}.request.headers[{n}] must have a name and a value")
            name = _wire(header["name"], None, f"{where}.request.headers[{n}].name")
            headers.append(
                (name, _wire(header.get("value"), header.get("_encoding"), f"{where}.request.headers[{n}]"))
            )
        body = _har_body(request.get("postData"), f"{where}.request")
        try:
            received = datetime.fromisoformat(str(entry.get("startedDateTime", "")).replace("Z", "+00:00"))
        except ValueError:
            raise BadImport(f"{where}.startedDateTime must be an ISO 8601 time") from None
        version = request.get("httpVersion", "HTTP/1.1")
        port = entry.get("_clientPort")
        rejected = entry.get("_rejected")
        client = entry.get("_clientAddress")
        captures.append(
            CapturedRequest(
                bin_id=bin_id,
                method=method,
                path=path_prefix + sub_path,
                sub_path=sub_path,
                query=query,
                headers=headers,
                body=body,
                body_size=len(body),
                body_sha256=hashlib.sha256(body).hexdigest(),
                client_ip=client if isinstance(client, str) else None,
                client_port=port if isinstance(port, int) and 0 <= port < 65536 else None,
                host=host,
                scheme=scheme,
                http_version=str(version).removeprefix("HTTP/") or "1.1",
                received_at=received if received.tzinfo else received.replace(tzinfo=UTC),
                rejected=rejected if isinstance(rejected, str) else None,
            )
        )
    return captures


# What the wire can carry: a method is a token (RFC 9110), and no request line or header holds CR, LF
# or NUL. An import holding other text could never have been captured, and its raw and cURL exports
# would say something else than it does.
_FORBIDDEN = re.compile(r"[\r\n\x00]")


def check_importable(captured: CapturedRequest, where: str) -> None:
    """Raise BadImport unless the capture is one the wire could have carried."""
    if not TOKEN.fullmatch(captured.method):
        raise BadImport(f"{where}: the method must be an HTTP token, not {captured.method[:40]!r}")
    if _FORBIDDEN.search(captured.sub_path + captured.query + captured.host):
        raise BadImport(f"{where}: the path, query and host may not hold CR, LF or NUL")
    for name, value in captured.headers:
        if not TOKEN.fullmatch(name) or _FORBIDDEN.search(value):
            raise BadImport(f"{where}: header {name[:40]!r} is not one HTTP can carry")
