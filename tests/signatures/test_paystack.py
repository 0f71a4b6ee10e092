"""Paystack: signed as the provider's documentation describes; it publishes no SDK verifier or test vector.

The documented recipe (hex HMAC-SHA512 of the raw body keyed with the secret key) is computed here with
the standard library, independently of the module under test:
https://paystack.com/docs/payments/webhooks/#verify-event-origin
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from inspector.signatures import detect, paystack, verify

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "sk_test_4f0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b"
BODY = (
    b'{"event":"charge.success","data":{"id":302961,"domain":"live","status":"success",'
    b'"reference":"qTPrJoy9Bx","amount":10000}}'
)
HEADER = "x-paystack-signature"


def documented_signature(body: bytes, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha512).digest()
    return "" + (digest.hex() if "hex" == "hex" else base64.b64encode(digest).decode())


def provider_request(body: bytes = BODY, secret: str = SECRET) -> object:
    return make_request(body, [(HEADER, documented_signature(body, secret))], content_type="application/json")


def test_documented_signature_verifies() -> None:
    verdict = paystack.verify(provider_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.provider == "paystack"
    assert verdict.header == HEADER
    assert verdict.expected == documented_signature(BODY)


def test_tampered_body_fails() -> None:
    request = provider_request()
    verdict = paystack.verify(make_request(tamper(BODY), request.headers), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason
    assert verdict.received == documented_signature(BODY)


def test_wrong_secret_fails_and_says_which_secret() -> None:
    verdict = paystack.verify(provider_request(), "pk_test_public", NOW)
    assert not verdict.valid
    assert any("secret key" in hint for hint in verdict.hints)


def test_auto_detection() -> None:
    assert detect(provider_request()) == "paystack"
    assert verify("auto", provider_request(), SECRET, NOW).valid


def test_our_signature_matches_the_documented_recipe() -> None:
    signed = paystack.sign(BODY, SECRET, NOW_TS)
    assert (HEADER, documented_signature(BODY)) in signed.headers
    assert paystack.verify(from_signed(signed), SECRET, NOW).valid


def test_sha256_instead_of_sha512_is_diagnosed() -> None:
    wrong = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    verdict = paystack.verify(make_request(BODY, [(HEADER, wrong)]), SECRET, NOW)
    assert not verdict.valid
    assert any("SHA-256 digest" in hint and "SHA-512" in hint for hint in verdict.hints)
