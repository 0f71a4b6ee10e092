"""Twitch EventSub: "sha256=" + hex HMAC-SHA256 of message id + timestamp + body, ten minutes at most."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    Signed,
    Verdict,
    display,
    epoch,
    failed,
    missing,
    parse_iso_timestamp,
    seconds_option,
    utf8,
)
from inspector.signatures.engine import HmacScheme, check_hmac

NAME = "twitch"
# Twitch tells receivers to reject messages whose timestamp is more than ten minutes old.
TOLERANCE = 600.0
ID_HEADER = "Twitch-Eventsub-Message-Id"
TIMESTAMP_HEADER = "Twitch-Eventsub-Message-Timestamp"
SCHEME = HmacScheme(
    provider=NAME,
    header="Twitch-Eventsub-Message-Signature",
    prefix="sha256=",
    signs=f"{ID_HEADER} + {TIMESTAMP_HEADER} + the raw body, concatenated",
)
HINTS = [
    "Twitch signs with the secret given in the subscription's transport when it was created "
    "(10 to 100 ASCII characters), not the app's client secret.",
]


def detect(request: CapturedRequest) -> bool:
    return request.header("twitch-eventsub-message-signature") is not None


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, tolerance: float | None = None
) -> Verdict:
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    signature = request.header(SCHEME.header)
    if signature is None:
        return missing(NAME, SCHEME.header)
    message_id = request.header(ID_HEADER)
    stamp = request.header(TIMESTAMP_HEADER)
    if message_id is None:
        return failed(
            NAME,
            f"The request has no {ID_HEADER} header; the message id is part of the signed data.",
            header=SCHEME.header,
            received=signature,
        )
    timestamp = parse_iso_timestamp(stamp)
    if stamp is None or timestamp is None:
        return failed(
            NAME,
            f"The request has no usable {TIMESTAMP_HEADER} header (an RFC 3339 time); the timestamp is "
            "part of the signed data.",
            header=SCHEME.header,
            received=signature,
        )
    return check_hmac(
        SCHEME,
        request=request,
        secret=secret,
        received=[signature],
        message=lambda body, url: utf8(message_id) + utf8(stamp) + body,
        timestamp=timestamp,
        now=epoch(now),
        tolerance=allowed,
        hints=HINTS,
    )


def sign(body: bytes, secret: str, timestamp: int, *, message_id: str | None = None) -> Signed:
    """`message_id` defaults to one derived from body and timestamp, so signing stays repeatable.

    The timestamp is written with nanoseconds, as Twitch writes it.
    """
    if message_id is None:
        digest = hashlib.sha256(body + str(timestamp).encode()).digest()[:16]
        message_id = str(uuid.UUID(bytes=digest))
    stamp = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
    payload = utf8(message_id) + utf8(stamp) + body
    return Signed(
        provider=NAME,
        headers=[
            (ID_HEADER, message_id),
            ("Twitch-Eventsub-Message-Retry", "0"),
            ("Twitch-Eventsub-Message-Type", "notification"),
            (SCHEME.header, SCHEME.signature(SCHEME.key(secret), payload)),
            (TIMESTAMP_HEADER, stamp),
        ],
        body=body,
        signed_payload=display(payload),
    )
