"""Discord interactions: X-Signature-Ed25519 over X-Signature-Timestamp + body, with the app's public key."""

from __future__ import annotations

from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    SignatureConfigError,
    Signed,
    Verdict,
    display,
    epoch,
    failed,
    hexdecode,
    missing,
    parse_timestamp,
    require_secret,
    seconds_option,
    utf8,
)
from inspector.signatures.engine import check_public_key

NAME = "discord"
HEADER = "X-Signature-Ed25519"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
ALGORITHM = "Ed25519 over timestamp + body, signature in hex"
# Discord publishes no window; five minutes is the convention Slack and Stripe document.
TOLERANCE = 300.0


def detect(request: CapturedRequest) -> bool:
    return request.header("x-signature-ed25519") is not None


def public_key(secret: str) -> Ed25519PublicKey:
    raw = hexdecode(require_secret(secret, "public key"))
    if raw is None or len(raw) != 32:
        size = "a 64-byte private key or signature" if raw is not None and len(raw) == 64 else "not that"
        raise SignatureConfigError(
            "Discord checks with the application's PUBLIC KEY: 64 hex characters from the Developer Portal "
            f"(General Information > Public Key). This value is {size}."
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, tolerance: float | None = None
) -> Verdict:
    """The secret is the application's public key in hex: Discord signs with the matching private key."""
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    key = public_key(secret)
    signature = request.header(HEADER)
    if signature is None:
        return missing(NAME, HEADER)
    stamp = request.header(TIMESTAMP_HEADER)
    timestamp = parse_timestamp(stamp)
    if stamp is None or timestamp is None:
        return failed(NAME, f"The request has no usable {TIMESTAMP_HEADER} header.", header=HEADER)
    raw = hexdecode(signature)
    if raw is None or len(raw) != 64:
        return failed(
            NAME,
            f"{HEADER} is not a 64-byte Ed25519 signature in hex.",
            header=HEADER,
            received=signature,
            hints=["Discord sends the signature as 128 hex characters."],
        )

    def checks(payload: bytes) -> bool:
        try:
            key.verify(raw, payload)
        except InvalidSignature:
            return False
        return True

    return check_public_key(
        provider=NAME,
        header=HEADER,
        algorithm=ALGORITHM,
        request=request,
        received=signature,
        checks=checks,
        message=lambda body: utf8(stamp) + body,
        timestamp=timestamp,
        now=epoch(now),
        tolerance=allowed,
        hints=["Check that the public key is this application's (each application has its own)."],
    )


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    """`secret` is a 32-byte Ed25519 private key (seed) in hex; the result names its public key."""
    seed = hexdecode(require_secret(secret, "private key"))
    if seed is None or len(seed) != 32:
        raise SignatureConfigError(
            "To sign like Discord, give a 32-byte Ed25519 private key as 64 hex characters."
        )
    private = Ed25519PrivateKey.from_private_bytes(seed)
    payload = str(timestamp).encode() + body
    return Signed(
        provider=NAME,
        headers=[(HEADER, private.sign(payload).hex()), (TIMESTAMP_HEADER, str(timestamp))],
        body=body,
        signed_payload=display(payload),
        verify_secret=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex(),
    )
