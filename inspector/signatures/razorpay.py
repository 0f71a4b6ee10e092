"""Razorpay: X-Razorpay-Signature, the hex HMAC-SHA256 of the body keyed with the webhook secret."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "razorpay"
SCHEME = HmacScheme(provider=NAME, header="X-Razorpay-Signature")
HINTS = [
    "Razorpay signs with the secret typed when the webhook was created (Dashboard > Accounts & "
    "Settings > Webhooks), not the API key secret; test and live mode webhooks have their own."
]


def detect(request: CapturedRequest) -> bool:
    return request.header("x-razorpay-signature") is not None


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    return verify_header_hmac(SCHEME, request, secret, hints=HINTS)


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    return sign_header_hmac([SCHEME], body, secret)
