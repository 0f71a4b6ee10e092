"""Calendly: Calendly-Webhook-Signature "t=...,v1=...", hex HMAC-SHA256 of "{t}.{body}" (signing key)."""

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

NAME = "calendly"
# Calendly's documented example rejects signatures more than three minutes old.
TOLERANCE = 180.0
SCHEME = HmacScheme(
    provider=NAME,
    header="Calendly-Webhook-Signature",
    signs='"{t}.{body}" (t from the header)',
    key_description="the webhook signing key as plain text",
)
HINTS = [
    "Calendly signs with the signing_key given when the webhook subscription was created through the "
    "API; a subscription created without one is signed with a key you cannot read: re-create it with "
    "your own signing_key.",
]


def detect(request: CapturedRequest) -> bool:
    return request.header("calendly-webhook-signature") is not None


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, tolerance: float | None = None
) -> Verdict:
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    value = request.header(SCHEME.header)
    if value is None:
        return missing(NAME, SCHEME.header)
    read = stamped_signatures(NAME, SCHEME.header, value, separator=",", stamp="t", signature="v1")
    if isinstance(read, Verdict):
        return read
    stamp, timestamp, signatures = read
    return check_hmac(
        SCHEME,
        request=request,
        secret=secret,
        received=signatures,
        message=lambda body, url: utf8(stamp) + b"." + body,
        timestamp=timestamp,
        now=epoch(now),
        tolerance=allowed,
        hints=HINTS,
    )


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    payload = f"{timestamp}.".encode() + body
    signature = SCHEME.signature(SCHEME.key(secret), payload)
    return Signed(
        provider=NAME,
        headers=[(SCHEME.header, f"t={timestamp},v1={signature}")],
        body=body,
        signed_payload=display(payload),
    )
