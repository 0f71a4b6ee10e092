"""Mercado Pago: x-signature ts=,v1=, hex HMAC-SHA256 of "id:{data.id};request-id:{req id};ts:{ts};"."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    Signed,
    Verdict,
    display,
    epoch,
    missing,
    seconds_option,
    stamped_signatures,
    text_option,
    tidy,
    utf8,
)
from inspector.signatures.engine import HmacScheme, check_hmac

NAME = "mercadopago"
HEADER = "x-signature"
REQUEST_ID_HEADER = "x-request-id"
# Mercado Pago publishes no window, so none is applied unless the tolerance option asks for one.
TOLERANCE = None
SCHEME = HmacScheme(
    provider=NAME,
    header=HEADER,
    signs='the manifest "id:{data.id};request-id:{x-request-id};ts:{ts};" (parts whose value is absent '
    "left out)",
)
HINTS = [
    "Mercado Pago signs with the application's webhook secret signature (Your integrations > Webhooks), "
    "not the access token; test and production secrets differ.",
    "data.id is read from the URL's query string (?data.id=...), where Mercado Pago puts it; a proxy that "
    "drops the query breaks the check.",
]


def detect(request: CapturedRequest) -> bool:
    signature = request.header(HEADER)
    # x-signature is a common name: only Mercado Pago pairs it with ts= and v1= and an x-request-id.
    return (
        signature is not None
        and "v1=" in signature
        and "ts=" in signature
        and request.header(REQUEST_ID_HEADER) is not None
    )


def data_id(request: CapturedRequest) -> str | None:
    """data.id from the query string; the body's data.id when the query has none (older senders)."""
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        if name == "data.id":
            return value
    return body_data_id(request.body)


def body_data_id(body: bytes) -> str | None:
    if b'"data"' not in body:
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    data = parsed.get("data") if isinstance(parsed, dict) else None
    found = data.get("id") if isinstance(data, dict) else None
    return str(found) if isinstance(found, str | int) and not isinstance(found, bool) else None


def manifest(resource_id: str | None, request_id: str | None, stamp: str) -> bytes:
    # Alphanumeric ids are signed in lower case, as Mercado Pago's documentation says.
    parts = []
    if resource_id:
        parts.append(f"id:{resource_id.lower() if resource_id.isalnum() else resource_id};")
    if request_id:
        parts.append(f"request-id:{request_id};")
    parts.append(f"ts:{stamp};")
    return utf8("".join(parts))


def seconds(stamp_value: float) -> float:
    # Some integrations report ts in milliseconds; a 13-digit number cannot be seconds.
    return tidy(stamp_value / 1000) if stamp_value > 1e11 else stamp_value


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, tolerance: float | None = None
) -> Verdict:
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    value = request.header(HEADER)
    if value is None:
        return missing(NAME, HEADER)
    read = stamped_signatures(NAME, HEADER, value, separator=",", stamp="ts", signature="v1")
    if isinstance(read, Verdict):
        return read
    stamp, timestamp, signatures = read
    resource_id = data_id(request)
    request_id = request.header(REQUEST_ID_HEADER)
    hints = list(HINTS)
    if request_id is None:
        hints.insert(0, f"The request has no {REQUEST_ID_HEADER} header, which Mercado Pago signs.")
    return check_hmac(
        SCHEME,
        request=request,
        secret=secret,
        received=signatures,
        message=lambda body, url: manifest(resource_id, request_id, stamp),
        timestamp=seconds(timestamp),
        now=epoch(now),
        tolerance=allowed,
        hints=hints,
        # The body is not signed: body variants cannot explain anything.
        vary_body=False,
    )


def sign(
    body: bytes,
    secret: str,
    timestamp: int,
    *,
    url: str | None = None,
    data_id: str | None = None,
    request_id: str | None = None,
) -> Signed:
    """Signs the manifest; `data_id` defaults to the body's data.id, and is added to `url` when given.

    `request_id` defaults to a UUID derived from body and timestamp, so signing stays repeatable.
    """
    resource_id = text_option("data_id", data_id) or body_data_id(body)
    request_id = text_option("request_id", request_id) or str(
        uuid.UUID(bytes=hashlib.sha256(body + str(timestamp).encode()).digest()[:16])
    )
    payload = manifest(resource_id, request_id, str(timestamp))
    signature = SCHEME.signature(SCHEME.key(secret), payload)
    target = text_option("url", url)
    if target is not None and resource_id:
        query = urlencode({"data.id": resource_id})
        target += ("&" if "?" in target else "?") + query
    return Signed(
        provider=NAME,
        headers=[(HEADER, f"ts={timestamp},v1={signature}"), (REQUEST_ID_HEADER, request_id)],
        body=body,
        signed_payload=display(payload),
        url=target,
    )
