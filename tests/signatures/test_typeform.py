"""Typeform: signed as the provider's documentation describes; it publishes no SDK verifier or test vector.

The documented recipe ("sha256=" + base64 HMAC-SHA256 of the raw body keyed with the webhook secret) is
computed here with the standard library, independently of the module under test:
https://www.typeform.com/developers/webhooks/secure-your-webhooks/
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from inspector.signatures import detect, typeform, verify

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "typeform-s3cret"
BODY = (
    b'{"event_id":"01GVW5J6MYFNF7JYPZ8E6QXR61","event_type":"form_response",'
    b'"form_response":{"form_id":"lT4Z3j","answers":[{"type":"text","text":"Lorem"}]}}'
)
HEADER = "Typeform-Signature"


def documented_signature(body: bytes, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + (digest.hex() if "base64" == "hex" else base64.b64encode(digest).decode())


def provider_request(body: bytes = BODY, secret: str = SECRET) -> object:
    return make_request(body, [(HEADER, documented_signature(body, secret))], content_type="application/json")


def test_documented_signature_verifies() -> None:
    verdict = typeform.verify(provider_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.provider == "typeform"
    assert verdict.header == HEADER
    assert verdict.expected == documented_signature(BODY)


def test_tampered_body_fails() -> None:
    request = provider_request()
    verdict = typeform.verify(make_request(tamper(BODY), request.headers), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason
    assert verdict.received == documented_signature(BODY)


def test_wrong_secret_fails_and_says_which_secret() -> None:
    verdict = typeform.verify(provider_request(), "tfp_personal_token", NOW)
    assert not verdict.valid
    assert any("secret set on the webhook" in hint for hint in verdict.hints)


def test_auto_detection() -> None:
    assert detect(provider_request()) == "typeform"
    assert verify("auto", provider_request(), SECRET, NOW).valid


def test_our_signature_matches_the_documented_recipe() -> None:
    signed = typeform.sign(BODY, SECRET, NOW_TS)
    assert (HEADER, documented_signature(BODY)) in signed.headers
    assert typeform.verify(from_signed(signed), SECRET, NOW).valid


def test_missing_prefix_and_hex_encoding_are_diagnosed() -> None:
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    bare = base64.b64encode(digest).decode()
    verdict = typeform.verify(make_request(BODY, [(HEADER, bare)]), SECRET, NOW)
    assert any("lacks the 'sha256=' prefix" in hint for hint in verdict.hints)
    verdict = typeform.verify(make_request(BODY, [(HEADER, "sha256=" + digest.hex())]), SECRET, NOW)
    assert any("encoded as hex" in hint for hint in verdict.hints)
