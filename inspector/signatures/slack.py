"""Slack: X-Slack-Signature "v0=" + hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{body}", 5 minutes."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict, display, seconds_option, utf8
from inspector.signatures.engine import HmacScheme, verify_with_timestamp_header

NAME = "slack"
TOLERANCE = 300.0
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SCHEME = HmacScheme(
    provider=NAME,
    header="X-Slack-Signature",
    prefix="v0=",
    signs='"v0:{timestamp}:{body}" (timestamp from X-Slack-Request-Timestamp)',
)


def detect(request: CapturedRequest) -> bool:
    return request.header("x-slack-signature") is not None


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
        hints=[
            "Slack signs with the app's Signing Secret (Basic Information > App Credentials), not the "
            "verification token, client secret or a bot token."
        ],
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
