"""Vercel: x-vercel-signature, the hex HMAC-SHA1 of the body keyed with the webhook or integration secret."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "vercel"
SCHEME = HmacScheme(provider=NAME, header="x-vercel-signature", algorithm="sha1")
HINTS = [
    "Vercel signs account webhooks with the secret shown once when the webhook was created, and "
    "integration webhooks with the integration's Client Secret."
]


def detect(request: CapturedRequest) -> bool:
    return request.header("x-vercel-signature") is not None


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    return verify_header_hmac(SCHEME, request, secret, hints=HINTS)


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    return sign_header_hmac([SCHEME], body, secret)
