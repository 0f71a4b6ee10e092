"""Meta: signed as Meta's Graph API webhooks documentation describes ("Validate payloads").

Meta publishes no SDK verifier and no test vector; the documented recipe (HMAC-SHA256 of the raw
payload keyed with the App Secret, sent as "sha256=" + hex in X-Hub-Signature-256) is computed here
with the standard library, independently of the module under test.
https://developers.facebook.com/docs/graph-api/webhooks/getting-started#event-notifications
"""

from __future__ import annotations

import hashlib
import hmac

from inspector.signatures import detect, meta, verify

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "4f1c2e9a7b3d5f60a1b2c3d4e5f60718"
BODY = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":'
    b'{"messaging_product":"whatsapp","messages":[{"from":"16315551181","text":{"body":"caf\\u00e9"}}]},'
    b'"field":"messages"}]}]}'
)


def meta_request(body: bytes = BODY, secret: str = SECRET, *, agent: bool = True) -> object:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    legacy = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    headers = [("X-Hub-Signature", legacy), ("X-Hub-Signature-256", signature)]
    if agent:
        headers.append(("User-Agent", "facebookexternalua"))
    return make_request(body, headers, content_type="application/json")


def test_documented_signature_verifies() -> None:
    verdict = meta.verify(meta_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.provider == "meta"
    assert verdict.header == "X-Hub-Signature-256"
    assert verdict.signed_payload == BODY.decode()


def test_sha1_header_is_checked_on_request() -> None:
    verdict = meta.verify(meta_request(), SECRET, NOW, algorithm="sha1")
    assert verdict.valid, verdict.reason
    assert verdict.header == "X-Hub-Signature"


def test_tampered_body_fails() -> None:
    request = meta_request()
    verdict = meta.verify(make_request(tamper(BODY), request.headers), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_secret_fails_and_names_the_app_secret() -> None:
    verdict = meta.verify(meta_request(), "my-verify-token", NOW)
    assert not verdict.valid
    assert any("App Secret" in hint for hint in verdict.hints)


def test_unescaped_reencoding_is_diagnosed() -> None:
    # Meta signs "caf\u00e9" escaped; a proxy that re-encoded the JSON sends "café".
    decoded = BODY.replace(b"\\u00e9", "é".encode())
    request = meta_request()
    verdict = meta.verify(make_request(decoded, request.headers), SECRET, NOW)
    assert not verdict.valid
    assert any("non-ASCII characters escaped" in hint for hint in verdict.hints)


def test_auto_detects_meta_by_user_agent_and_by_body() -> None:
    assert detect(meta_request()) == "meta"
    assert detect(meta_request(agent=False)) == "meta"
    assert verify("auto", meta_request(), SECRET, NOW).valid


def test_our_signature_matches_the_documented_recipe() -> None:
    signed = meta.sign(BODY, SECRET, NOW_TS)
    expected = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert ("X-Hub-Signature-256", expected) in signed.headers
    assert meta.verify(from_signed(signed), SECRET, NOW).valid
