"""Stripe: Stripe-Signature "t=...,v1=...", hex HMAC-SHA256 of "{t}.{body}" keyed with the whsec_ secret."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    Signed,
    Verdict,
    display,
    epoch,
    missing,
    parse_pairs,
    seconds_option,
    stamped_signatures,
    utf8,
)
from inspector.signatures.engine import HmacScheme, check_hmac

NAME = "stripe"
TOLERANCE = 300.0
SCHEME = HmacScheme(
    provider=NAME,
    header="Stripe-Signature",
    signs='"{t}.{body}" (t from the header)',
    key_description="the whole secret, whsec_ included, as plain text (Stripe does not base64-decode it)",
)


def detect(request: CapturedRequest) -> bool:
    return request.header("stripe-signature") is not None


def _secret_hints(secret: str) -> list[str]:
    if secret.startswith(("sk_", "rk_", "pk_")):
        return [
            "That secret is a Stripe API key; webhooks are signed with the endpoint's signing secret "
            "(whsec_...)."
        ]
    if not secret.startswith("whsec_"):
        return [
            "Stripe signing secrets start with whsec_: copy the endpoint's secret from the Dashboard, or "
            "the one `stripe listen` prints (it differs from the Dashboard's)."
        ]
    return [
        "Each endpoint, and each `stripe listen` session, has its own whsec_ secret: use the one for "
        "this endpoint."
    ]


V0_ONLY = ["Only v0 signatures were sent: those are Stripe's test-mode placeholders, not real signatures."]


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, tolerance: float | None = None
) -> Verdict:
    """Any v1 signature may match: Stripe sends several while a secret is being rolled."""
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    value = request.header(SCHEME.header)
    if value is None:
        return missing(NAME, SCHEME.header)
    test_mode = any(key == "v0" for key, _ in parse_pairs(value, ","))
    read = stamped_signatures(
        NAME,
        SCHEME.header,
        value,
        separator=",",
        stamp="t",
        signature="v1",
        no_signature_hints=V0_ONLY if test_mode else None,
    )
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
        hints=_secret_hints(secret),
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
