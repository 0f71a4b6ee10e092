"""Vercel: signed as the provider's documentation describes; it publishes no SDK verifier or test vector.

The documented recipe (hex HMAC-SHA1 of the raw body keyed with the webhook secret) is computed here with
the standard library, independently of the module under test: https://vercel.com/docs/webhooks/webhooks-
api#securing-webhooks
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from inspector.signatures import detect, vercel, verify

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "vercel_wh_s3cret"
BODY = (
    b'{"id":"Ad2JHMjqzjvk2Xmx1A9oTKJk","type":"deployment.created","createdAt":1738000000000,'
    b'"payload":{"deployment":{"id":"dpl_2euZBFqxYdDMDG1jTrHFnNZ2eUVa"}}}'
)
HEADER = "x-vercel-signature"


def documented_signature(body: bytes, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    return "" + (digest.hex() if "hex" == "hex" else base64.b64encode(digest).decode())


def provider_request(body: bytes = BODY, secret: str = SECRET) -> object:
    return make_request(body, [(HEADER, documented_signature(body, secret))], content_type="application/json")


def test_documented_signature_verifies() -> None:
    verdict = vercel.verify(provider_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.provider == "vercel"
    assert verdict.header == HEADER
    assert verdict.expected == documented_signature(BODY)


def test_tampered_body_fails() -> None:
    request = provider_request()
    verdict = vercel.verify(make_request(tamper(BODY), request.headers), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason
    assert verdict.received == documented_signature(BODY)


def test_wrong_secret_fails_and_says_which_secret() -> None:
    verdict = vercel.verify(provider_request(), "oac_client_id", NOW)
    assert not verdict.valid
    assert any("Client Secret" in hint for hint in verdict.hints)


def test_auto_detection() -> None:
    assert detect(provider_request()) == "vercel"
    assert verify("auto", provider_request(), SECRET, NOW).valid


def test_our_signature_matches_the_documented_recipe() -> None:
    signed = vercel.sign(BODY, SECRET, NOW_TS)
    assert (HEADER, documented_signature(BODY)) in signed.headers
    assert vercel.verify(from_signed(signed), SECRET, NOW).valid
