"""Intercom: no SDK signs webhooks, so the reference HMAC-SHA1 is computed with the standard library."""

from __future__ import annotations

import hashlib
import hmac

from inspector.signatures import intercom

from .helpers import NOW, make_request, tamper

SECRET = "intercom-client-secret"
BODY = b'{"type":"notification_event","topic":"conversation.user.created","data":{}}'


def reference(body: bytes = BODY, secret: str = SECRET) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def intercom_request(body: bytes = BODY, signature: str | None = None) -> object:
    headers = [("User-Agent", "Intercom-Webhook-Client/1.0"), ("X-Hub-Signature", signature or reference())]
    return make_request(body, headers, content_type="application/json")


def test_signed_request_verifies() -> None:
    verdict = intercom.verify(intercom_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.algorithm is not None
    assert "SHA1" in verdict.algorithm


def test_tampered_body_fails() -> None:
    verdict = intercom.verify(intercom_request(tamper(BODY), reference()), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_secret_fails() -> None:
    verdict = intercom.verify(intercom_request(), "wrong", NOW)
    assert not verdict.valid
    assert any("client secret" in hint for hint in verdict.hints)


def test_sign_matches_reference() -> None:
    assert intercom.sign(BODY, SECRET, 0).headers == [("X-Hub-Signature", reference())]
