"""Square: signed with the standard library; the squareup SDK's verify_signature confirms each vector."""

from __future__ import annotations

import base64
import hashlib
import hmac

from square.utils.webhooks_helper import verify_signature

from inspector.signatures import square

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

KEY = "asdf1234"
URL = "https://example.com/webhook"
BODY = b'{"merchant_id":"MLEFBHHSJGVHD","type":"payment.created","event_id":"ac3ac95b-f97d"}'


def reference(body: bytes = BODY, url: str = URL, key: str = KEY, algorithm: str = "sha256") -> str:
    digest = hmac.new(key.encode(), url.encode() + body, getattr(hashlib, algorithm)).digest()
    return base64.b64encode(digest).decode()


def square_request(body: bytes = BODY, *, url: str = URL, signature: str | None = None) -> object:
    signature = signature or reference()
    assert verify_signature(
        request_body=BODY.decode(), signature_header=signature, signature_key=KEY, notification_url=URL
    )
    return make_request(body, [("x-square-hmacsha256-signature", signature)], url=url)


def test_signed_request_verifies() -> None:
    verdict = square.verify(square_request(), KEY, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.signed_payload == URL + BODY.decode()


def test_tampered_body_fails() -> None:
    assert not square.verify(square_request(tamper(BODY)), KEY, NOW).valid


def test_wrong_key_fails() -> None:
    verdict = square.verify(square_request(), "wrong-key", NOW)
    assert not verdict.valid
    assert any("signature key" in hint for hint in verdict.hints)


def test_other_url_fails_and_the_url_option_fixes_it() -> None:
    request = square_request(url="http://localhost:8000/webhook")
    verdict = square.verify(request, KEY, NOW)
    assert not verdict.valid
    assert any("url option" in hint for hint in verdict.hints)
    assert square.verify(request, KEY, NOW, url=URL).valid


def test_legacy_sha1_header_verifies() -> None:
    request = make_request(BODY, [("x-square-signature", reference(algorithm="sha1"))], url=URL)
    verdict = square.verify(request, KEY, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.header == "x-square-signature"


def test_our_signature_passes_the_sdk_verifier() -> None:
    signed = square.sign(BODY, KEY, NOW_TS, url=URL)
    signature = dict(signed.headers)["x-square-hmacsha256-signature"]
    assert verify_signature(
        request_body=BODY.decode(), signature_header=signature, signature_key=KEY, notification_url=URL
    )
    assert square.verify(from_signed(signed), KEY, NOW).valid
