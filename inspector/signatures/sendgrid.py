"""SendGrid Event Webhook: ECDSA P-256 over timestamp + body, checked with SendGrid's verification key."""

from __future__ import annotations

import base64
from datetime import datetime

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_private_key,
    load_der_public_key,
    load_pem_private_key,
    load_pem_public_key,
)

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
from inspector.signatures.engine import check_public_key

NAME = "sendgrid"
HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
ALGORITHM = "ECDSA P-256 with SHA-256 over timestamp + body, DER signature in base64"
# SendGrid publishes no window; five minutes is the convention Slack and Stripe document.
TOLERANCE = 300.0


def detect(request: CapturedRequest) -> bool:
    return request.header("x-twilio-email-event-webhook-signature") is not None


def _key_data(text: str) -> tuple[bytes, bool]:
    """The key's bytes and whether they are PEM; SendGrid shows base64 DER without PEM armour."""
    if "-----BEGIN" in text:
        return utf8(text.strip()), True
    return b64decode_lenient("".join(text.split())) or b"", False


def public_key(secret: str) -> ec.EllipticCurvePublicKey:
    """The key as SendGrid shows it (base64 DER), or the same key in PEM."""
    data, pem = _key_data(require_secret(secret, "verification key"))
    try:
        key = load_pem_public_key(data) if pem else load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise SignatureConfigError(
            "SendGrid checks with the Event Webhook verification key: the base64 text starting MFkw... "
            "shown under Settings > Mail Settings > Event Webhook > Signature Verification. This is not one."
        )
    return key


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, tolerance: float | None = None
) -> Verdict:
    """The secret is the verification (public) key: SendGrid signs with its private half."""
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    key = public_key(secret)
    signature = request.header(HEADER)
    if signature is None:
        return missing(NAME, HEADER)
    stamp = request.header(TIMESTAMP_HEADER)
    timestamp = parse_timestamp(stamp)
    if stamp is None or timestamp is None:
        return failed(NAME, f"The request has no usable {TIMESTAMP_HEADER} header.", header=HEADER)
    raw = b64decode_lenient(signature)
    if not raw:
        return failed(NAME, f"{HEADER} is not base64.", header=HEADER, received=signature)

    def checks(payload: bytes) -> bool:
        try:
            key.verify(raw, payload, ec.ECDSA(hashes.SHA256()))
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
        hints=[
            "The verification key changes each time signature verification is turned off and on again: "
            "copy the current one."
        ],
    )


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    """`secret` is a P-256 private key in PEM or base64 DER; signing is deterministic (RFC 6979)."""
    data, pem = _key_data(require_secret(secret, "private key"))
    try:
        private = load_pem_private_key(data, None) if pem else load_der_private_key(data, None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        private = None
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise SignatureConfigError(
            "To sign like SendGrid, give an unencrypted P-256 private key in PEM or base64 DER."
        )
    payload = str(timestamp).encode() + body
    signature = private.sign(payload, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    public = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return Signed(
        provider=NAME,
        headers=[(HEADER, base64.b64encode(signature).decode()), (TIMESTAMP_HEADER, str(timestamp))],
        body=body,
        signed_payload=display(payload),
        verify_secret=base64.b64encode(public).decode(),
    )
