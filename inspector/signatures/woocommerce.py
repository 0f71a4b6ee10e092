"""WooCommerce: X-WC-Webhook-Signature, the base64 HMAC-SHA256 of the body keyed with the webhook secret."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "woocommerce"
SCHEME = HmacScheme(provider=NAME, header="X-WC-Webhook-Signature", encoding="base64")
HINTS = [
    "WooCommerce signs with the Secret field of the webhook (WooCommerce > Settings > Advanced > "
    "Webhooks); each webhook has its own, and it is not the REST API consumer secret."
]


def detect(request: CapturedRequest) -> bool:
    return request.header("x-wc-webhook-signature") is not None


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    return verify_header_hmac(SCHEME, request, secret, hints=HINTS)


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    return sign_header_hmac([SCHEME], body, secret)
