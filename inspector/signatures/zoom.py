"""Zoom: x-zm-signature, "v0=" + hex HMAC-SHA256 of "v0:{x-zm-request-timestamp}:{body}"."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict, display, seconds_option, utf8
from inspector.signatures.engine import HmacScheme, verify_with_timestamp_header

NAME = "zoom"
# Zoom publishes no window; five minutes is the convention Slack and Stripe document.
TOLERANCE = 300.0
TIMESTAMP_HEADER = "x-zm-request-timestamp"
SCHEME = HmacScheme(
    provider=NAME,
    header="x-zm-signature",
    prefix="v0=",
    signs='"v0:{timestamp}:{body}" (timestamp from x-zm-request-timestamp)',
)


def detect(request: CapturedRequest) -> bool:
    return request.header("x-zm-signature") is not None


def _message(stamp: str) -> bytes:
    return b"v0:" + utf8(stamp) + b":"


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, tolerance: float | None = None
) -> Verdict:
    return verify_with_timestamp_header(
        SCHEME,
        request,
        secret,
        now,
        timestamp_header=TIMESTAMP_HEADER,
        tolerance=seconds_option("tolerance", tolerance, TOLERANCE),
        message=lambda stamp: lambda body, url: _message(stamp) + body,
        hints=["Zoom signs with the app's Secret Token (Features > Access), not the client secret."],
    )


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    payload = _message(str(timestamp)) + body
    return Signed(
        provider=NAME,
        headers=[
            (SCHEME.header, SCHEME.signature(SCHEME.key(secret), payload)),
            (TIMESTAMP_HEADER, str(timestamp)),
        ],
        body=body,
        signed_payload=display(payload),
    )
