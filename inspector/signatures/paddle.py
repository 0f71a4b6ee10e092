"""Paddle Billing: Paddle-Signature "ts=...;h1=...", hex HMAC-SHA256 of "{ts}:{body}" with the secret key."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    Signed,
    Verdict,
    display,
    epoch,
    missing,
    seconds_option,
    stamped_signatures,
    utf8,
)
from inspector.signatures.engine import HmacScheme, check_hmac

NAME = "paddle"
# Paddle's SDKs allow five seconds between signing and checking.
TOLERANCE = 5.0
SCHEME = HmacScheme(provider=NAME, header="Paddle-Signature", signs='"{ts}:{body}" (ts from the header)')


def detect(request: CapturedRequest) -> bool:
    return request.header("paddle-signature") is not None


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, tolerance: float | None = None
) -> Verdict:
    """Any h1 signature may match: Paddle sends one per active secret while a secret is rotated."""
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    value = request.header(SCHEME.header)
    if value is None:
        return missing(NAME, SCHEME.header)
    read = stamped_signatures(NAME, SCHEME.header, value, separator=";", stamp="ts", signature="h1")
    if isinstance(read, Verdict):
        return read
    stamp, timestamp, signatures = read
    hints = [
        "Paddle signs with the notification destination's secret key (pdl_ntfset_...), shown under "
        "Developer Tools > Notifications; sandbox and live differ."
    ]
    return check_hmac(
        SCHEME,
        request=request,
        secret=secret,
        received=signatures,
        message=lambda body, url: utf8(stamp) + b":" + body,
        timestamp=timestamp,
        now=epoch(now),
        tolerance=allowed,
        hints=hints,
    )


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    payload = f"{timestamp}:".encode() + body
    signature = SCHEME.signature(SCHEME.key(secret), payload)
    return Signed(
        provider=NAME,
        headers=[(SCHEME.header, f"ts={timestamp};h1={signature}")],
        body=body,
        signed_payload=display(payload),
    )
