"""Shopify: X-Shopify-Hmac-Sha256, the base64 HMAC-SHA256 of the body keyed with the app's client secret."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "shopify"
SCHEME = HmacScheme(provider=NAME, header="X-Shopify-Hmac-Sha256", encoding="base64")


def detect(request: CapturedRequest) -> bool:
    return request.header("x-shopify-hmac-sha256") is not None


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    return verify_header_hmac(
        SCHEME,
        request,
        secret,
        hints=[
            "Shopify signs app webhooks with the app's client secret (API secret key); webhooks made in "
            "the store admin are signed with the key shown under Settings > Notifications > Webhooks."
        ],
    )


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    return sign_header_hmac([SCHEME], body, secret)
