"""Builds real CapturedRequest values for the signature tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from inspector.models import CapturedRequest
from inspector.signatures import Signed

# A fixed "now" for every test: signatures are made at NOW_TS and checked at NOW_TS unless a test
# says otherwise, so no test depends on the clock.
NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())
BIN = "abc123"


def make_request(
    body: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
    *,
    method: str = "POST",
    url: str = f"https://inspector.example/b/{BIN}",
    content_type: str | None = None,
) -> CapturedRequest:
    """A captured request as the server would store it: header names lowercased, order kept."""
    scheme, _, rest = url.partition("://")
    host, slash, path_query = rest.partition("/")
    path, _, query = ("/" + path_query if slash else "/").partition("?")
    header_list = [(name.lower(), value) for name, value in headers]
    if content_type is not None:
        header_list.append(("content-type", content_type))
    return CapturedRequest(
        bin_id=BIN,
        method=method,
        path=path,
        sub_path=path.removeprefix(f"/b/{BIN}"),
        query=query,
        headers=header_list,
        body=body,
        body_size=len(body),
        body_sha256=hashlib.sha256(body).hexdigest(),
        client_ip="203.0.113.7",
        client_port=54321,
        host=host,
        scheme=scheme,
        http_version="1.1",
        received_at=NOW,
    )


def from_signed(
    signed: Signed, *, url: str | None = None, content_type: str | None = None
) -> CapturedRequest:
    """The request a sender would make from our own sign() output."""
    target = signed.url or url or f"https://inspector.example/b/{BIN}"
    return make_request(signed.body, signed.headers, url=target, content_type=content_type)


def tamper(body: bytes) -> bytes:
    """The same body with one byte changed."""
    index = len(body) // 2
    return body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]


def with_body(request: CapturedRequest, body: bytes) -> CapturedRequest:
    return make_request(body, request.headers, method=request.method, url=request.url)
