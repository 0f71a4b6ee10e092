"""Standard Webhooks and Svix: webhook-signature "v1,<base64>" of "{id}.{timestamp}.{body}", whsec_ secret."""

from __future__ import annotations

import hashlib
from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    SignatureConfigError,
    Signed,
    Verdict,
    b64decode_lenient,
    display,
    epoch,
    failed,
    missing,
    parse_timestamp,
    require_secret,
    seconds_option,
    utf8,
)
from inspector.signatures.engine import HmacScheme, check_hmac

NAME = "standard-webhooks"
TOLERANCE = 300.0
FAMILIES = ("webhook", "svix")
# Every signed header of either family: re-signing replaces them all (signatures.replaced_headers).
SIGNATURE_HEADERS = tuple(
    f"{family}-{part}" for family in FAMILIES for part in ("id", "timestamp", "signature")
)


def key(secret: str) -> bytes:
    """The secret is base64 after an optional whsec_ prefix; the decoded bytes are the key."""
    decoded = b64decode_lenient(require_secret(secret).strip().removeprefix("whsec_"))
    if not decoded:
        raise SignatureConfigError(
            "A Standard Webhooks secret is base64, optionally after whsec_ "
            "(like whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw); this one is not base64."
        )
    return decoded


SCHEME = HmacScheme(
    provider=NAME,
    header="webhook-signature",
    encoding="base64",
    prefix="v1,",
    signs='"{id}.{timestamp}.{body}" (id and timestamp from their headers)',
    key=key,
    key_description="the secret base64-decoded after its whsec_ prefix",
)


def detect(request: CapturedRequest) -> bool:
    return any(request.header(f"{family}-signature") is not None for family in FAMILIES)


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, tolerance: float | None = None
) -> Verdict:
    """Any of the space-separated v1 signatures may match; svix-* headers count as webhook-*."""
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    family = next((f for f in FAMILIES if request.header(f"{f}-signature") is not None), "webhook")
    header = f"{family}-signature"
    value = request.header(header)
    if value is None:
        return missing(NAME, header)
    msg_id = request.header(f"{family}-id")
    stamp = request.header(f"{family}-timestamp")
    timestamp = parse_timestamp(stamp)
    if msg_id is None or stamp is None or timestamp is None:
        return failed(
            NAME,
            f"The request needs {family}-id and a numeric {family}-timestamp: both are signed.",
            header=header,
            received=value,
        )
    signatures = value.split()
    hints = []
    if signatures and all(sig.startswith("v1a,") for sig in signatures):
        hints.append("Only v1a (Ed25519) signatures were sent; this check handles the symmetric v1 scheme.")
    hints.append(
        "The secret is the endpoint's whsec_... signing secret; the key is its base64-decoded tail, "
        "so a sender that uses the text itself as the key produces different signatures."
    )
    return check_hmac(
        SCHEME,
        request=request,
        secret=secret,
        received=signatures,
        message=lambda body, url: utf8(f"{msg_id}.{stamp}.") + body,
        timestamp=timestamp,
        now=epoch(now),
        tolerance=allowed,
        hints=hints,
        header=header,
    )


def sign(
    body: bytes, secret: str, timestamp: int, *, msg_id: str | None = None, svix: bool = False
) -> Signed:
    """`msg_id` defaults to one derived from body and timestamp, so signing stays repeatable."""
    if msg_id is None:
        msg_id = "msg_" + hashlib.sha256(body + str(timestamp).encode()).hexdigest()[:27]
    family = "svix" if svix else "webhook"
    payload = utf8(f"{msg_id}.{timestamp}.") + body
    return Signed(
        provider=NAME,
        headers=[
            (f"{family}-id", msg_id),
            (f"{family}-timestamp", str(timestamp)),
            (f"{family}-signature", SCHEME.signature(key(secret), payload)),
        ],
        body=body,
        signed_payload=display(payload),
    )
