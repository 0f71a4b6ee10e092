"""Paddle Billing: Paddle-Signature "ts=...;h1=...", hex HMAC-SHA256 of "{ts}:{body}" with the secret key."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    Signed,
    Verdict,
    display,
    epoch,
    failed,
    missing,
    parse_pairs,
    parse_timestamp,
    seconds_option,
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
    pairs = parse_pairs(value, ";")
    stamp = next((item for key, item in pairs if key == "ts"), None)
    timestamp = parse_timestamp(stamp)
    signatures = [item for key, item in pairs if key == "h1"]
    if stamp is None or timestamp is None:
        return failed(
            NAME, "Paddle-Signature has no usable ts= timestamp.", header=SCHEME.header, received=value
        )
    if not signatures:
        return failed(NAME, "Paddle-Signature has no h1= signature.", header=SCHEME.header, received=value)
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
