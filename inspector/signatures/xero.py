"""Xero: x-xero-signature, the base64 HMAC-SHA256 of the body keyed with the webhook key."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "xero"
SCHEME = HmacScheme(provider=NAME, header="x-xero-signature", encoding="base64")
HINTS = [
    "Xero signs with the webhooks key of the app (Developer portal > My Apps > Webhooks), not the "
    "client secret."
]


def detect(request: CapturedRequest) -> bool:
    return request.header("x-xero-signature") is not None


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    return verify_header_hmac(SCHEME, request, secret, hints=HINTS)


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    return sign_header_hmac([SCHEME], body, secret)
