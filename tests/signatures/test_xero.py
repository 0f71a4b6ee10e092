"""Xero: signed as the provider's documentation describes; it publishes no SDK verifier or test vector.

The documented recipe (base64 HMAC-SHA256 of the raw body keyed with the webhooks key) is computed here
with the standard library, independently of the module under test:
https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from inspector.signatures import detect, verify, xero

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "xero-webhooks-key-0123456789"
BODY = (
    b'{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Contacts/717f2bfc",'
    b'"resourceId":"717f2bfc","eventCategory":"CONTACT","eventType":"UPDATE"}],'
    b'"firstEventSequence":1,"lastEventSequence":1,"entropy":"S0m3r4Nd0mt3xt"}'
)
HEADER = "x-xero-signature"


def documented_signature(body: bytes, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "" + (digest.hex() if "base64" == "hex" else base64.b64encode(digest).decode())


def provider_request(body: bytes = BODY, secret: str = SECRET) -> object:
    return make_request(body, [(HEADER, documented_signature(body, secret))], content_type="application/json")


def test_documented_signature_verifies() -> None:
    verdict = xero.verify(provider_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.provider == "xero"
    assert verdict.header == HEADER
    assert verdict.expected == documented_signature(BODY)


def test_tampered_body_fails() -> None:
    request = provider_request()
    verdict = xero.verify(make_request(tamper(BODY), request.headers), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason
    assert verdict.received == documented_signature(BODY)


def test_wrong_secret_fails_and_says_which_secret() -> None:
    verdict = xero.verify(provider_request(), "client-secret", NOW)
    assert not verdict.valid
    assert any("webhooks key" in hint for hint in verdict.hints)


def test_auto_detection() -> None:
    assert detect(provider_request()) == "xero"
    assert verify("auto", provider_request(), SECRET, NOW).valid


def test_our_signature_matches_the_documented_recipe() -> None:
    signed = xero.sign(BODY, SECRET, NOW_TS)
    assert (HEADER, documented_signature(BODY)) in signed.headers
    assert xero.verify(from_signed(signed), SECRET, NOW).valid
