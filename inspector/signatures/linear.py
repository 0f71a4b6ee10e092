"""Linear: Linear-Signature, hex HMAC-SHA256 of the body, whose webhookTimestamp (ms) must be recent."""

from __future__ import annotations

import json
from datetime import datetime

import msgspec

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    Signed,
    Verdict,
    display,
    epoch,
    missing,
    seconds_option,
    tidy,
    utf8,
)
from inspector.signatures.engine import HmacScheme, check_hmac, raw_body

NAME = "linear"
# Linear's SDK rejects a webhookTimestamp more than a minute from now.
TOLERANCE = 60.0
FIELD = "webhookTimestamp"
SCHEME = HmacScheme(provider=NAME, header="Linear-Signature")


def detect(request: CapturedRequest) -> bool:
    return request.header("linear-signature") is not None


def body_timestamp(body: bytes) -> float | None:
    """webhookTimestamp in Unix seconds; Linear sends milliseconds as a JSON number."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    value = parsed.get(FIELD) if isinstance(parsed, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return tidy(value / 1000)


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, tolerance: float | None = None
) -> Verdict:
    """The timestamp sits inside the signed body, so it cannot be changed without breaking the signature."""
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    value = request.header(SCHEME.header)
    if value is None:
        return missing(NAME, SCHEME.header)
    timestamp = body_timestamp(request.body)
    verdict = check_hmac(
        SCHEME,
        request=request,
        secret=secret,
        received=[value],
        message=raw_body,
        timestamp=timestamp,
        now=epoch(now),
        tolerance=allowed,
        hints=["Linear signs with the webhook's signing secret, shown on the webhook's settings page."],
    )
    if timestamp is not None or not verdict.valid:
        return verdict
    return msgspec.structs.replace(
        verdict,
        valid=False,
        reason=f"The signature is correct, but the JSON body has no numeric {FIELD} to check.",
        hints=[
            f"Linear puts {FIELD} (milliseconds) in every webhook body; its SDK rejects bodies without it."
        ],
    )


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    """A JSON object body gets webhookTimestamp set to `timestamp`, re-encoded compactly like Linear's."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        parsed[FIELD] = timestamp * 1000
        body = utf8(json.dumps(parsed, separators=(",", ":"), ensure_ascii=False))
    return Signed(
        provider=NAME,
        headers=[(SCHEME.header, SCHEME.signature(SCHEME.key(secret), body))],
        body=body,
        signed_payload=display(body),
    )
