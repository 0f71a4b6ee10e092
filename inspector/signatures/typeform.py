"""Typeform: Typeform-Signature, "sha256=" + base64 HMAC-SHA256 of the body keyed with the webhook secret."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "typeform"
SCHEME = HmacScheme(provider=NAME, header="Typeform-Signature", encoding="base64", prefix="sha256=")
HINTS = [
    "Typeform signs with the secret set on the webhook (Connect > Webhooks > Edit, or the "
    "secret field of the Webhooks API), not a personal access token."
]


def detect(request: CapturedRequest) -> bool:
    return request.header("typeform-signature") is not None


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    return verify_header_hmac(SCHEME, request, secret, hints=HINTS)


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    return sign_header_hmac([SCHEME], body, secret)
