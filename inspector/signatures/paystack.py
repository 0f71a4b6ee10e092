"""Paystack: x-paystack-signature, the hex HMAC-SHA512 of the body keyed with the secret key."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "paystack"
SCHEME = HmacScheme(provider=NAME, header="x-paystack-signature", algorithm="sha512")
HINTS = [
    "Paystack signs with the secret key of the integration (sk_test_... or sk_live_..., Settings > "
    "API Keys & Webhooks), not the public key; test and live keys differ."
]


def detect(request: CapturedRequest) -> bool:
    return request.header("x-paystack-signature") is not None


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    return verify_header_hmac(SCHEME, request, secret, hints=HINTS)


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    return sign_header_hmac([SCHEME], body, secret)
