"""Bitbucket: no SDK signs webhooks, so the reference HMAC is computed with the standard library."""

from __future__ import annotations

import hashlib
import hmac

from inspector.signatures import bitbucket

from .helpers import NOW, make_request, tamper

SECRET = "bitbucket-webhook-secret"
BODY = b'{"push":{"changes":[]},"repository":{"full_name":"team/repo"}}'


def reference(body: bytes = BODY, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def bitbucket_request(body: bytes = BODY, signature: str | None = None) -> object:
    headers = [("X-Event-Key", "repo:push"), ("X-Hub-Signature", signature or reference())]
    return make_request(body, headers, content_type="application/json")


def test_signed_request_verifies() -> None:
    verdict = bitbucket.verify(bitbucket_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.header == "X-Hub-Signature"


def test_tampered_body_fails() -> None:
    verdict = bitbucket.verify(bitbucket_request(tamper(BODY), reference()), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_secret_fails() -> None:
    assert not bitbucket.verify(bitbucket_request(), "another-secret", NOW).valid


def test_sign_matches_reference() -> None:
    assert bitbucket.sign(BODY, SECRET, 0).headers == [("X-Hub-Signature", reference())]
