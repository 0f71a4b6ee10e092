"""WooCommerce: signed as the provider's documentation describes; it publishes no SDK verifier or test vector.

The documented recipe (base64 HMAC-SHA256 of the raw body keyed with the webhook secret) is computed here
with the standard library, independently of the module under test:
https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from inspector.signatures import detect, verify, woocommerce

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "wc_webhook_s3cret"
BODY = (
    b'{"id":727,"status":"processing","currency":"USD","total":"29.35","line_items":[{"id":315,'
    b'"name":"Woo Single #1","quantity":2}]}'
)
HEADER = "X-WC-Webhook-Signature"


def documented_signature(body: bytes, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "" + (digest.hex() if "base64" == "hex" else base64.b64encode(digest).decode())


def provider_request(body: bytes = BODY, secret: str = SECRET) -> object:
    return make_request(body, [(HEADER, documented_signature(body, secret))], content_type="application/json")


def test_documented_signature_verifies() -> None:
    verdict = woocommerce.verify(provider_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.provider == "woocommerce"
    assert verdict.header == HEADER
    assert verdict.expected == documented_signature(BODY)


def test_tampered_body_fails() -> None:
    request = provider_request()
    verdict = woocommerce.verify(make_request(tamper(BODY), request.headers), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason
    assert verdict.received == documented_signature(BODY)


def test_wrong_secret_fails_and_says_which_secret() -> None:
    verdict = woocommerce.verify(provider_request(), "ck_consumer_key", NOW)
    assert not verdict.valid
    assert any("Secret field" in hint for hint in verdict.hints)


def test_auto_detection() -> None:
    assert detect(provider_request()) == "woocommerce"
    assert verify("auto", provider_request(), SECRET, NOW).valid


def test_our_signature_matches_the_documented_recipe() -> None:
    signed = woocommerce.sign(BODY, SECRET, NOW_TS)
    assert (HEADER, documented_signature(BODY)) in signed.headers
    assert woocommerce.verify(from_signed(signed), SECRET, NOW).valid
