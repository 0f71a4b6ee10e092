"""Shopify: its SDK (ShopifyAPI) has no webhook signer, so the reference is the standard library HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac

from inspector.signatures import shopify

from .helpers import NOW, make_request, tamper

SECRET = "shpss_0123456789abcdef0123456789abcdef"
BODY = b'{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00"}'


def reference(body: bytes = BODY, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_request(body: bytes = BODY, signature: str | None = None) -> object:
    headers = [("X-Shopify-Topic", "orders/create"), ("X-Shopify-Hmac-Sha256", signature or reference())]
    return make_request(body, headers, content_type="application/json")


def test_signed_request_verifies() -> None:
    verdict = shopify.verify(shopify_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.expected == reference()


def test_tampered_body_fails() -> None:
    verdict = shopify.verify(shopify_request(tamper(BODY), reference()), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_secret_fails() -> None:
    verdict = shopify.verify(shopify_request(), "shpss_wrong", NOW)
    assert not verdict.valid
    assert verdict.hints


def test_sign_matches_reference() -> None:
    assert shopify.sign(BODY, SECRET, 0).headers == [("X-Shopify-Hmac-Sha256", reference())]
