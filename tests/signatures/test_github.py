"""GitHub: checked against GitHub's documented example, SHA-1 computed with the standard library."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from inspector.signatures import SignatureConfigError, github

from .helpers import NOW, make_request, tamper

# From GitHub's "Validating webhook deliveries" documentation.
SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def github_request(body: bytes = BODY, signature: str = SIGNATURE) -> object:
    return make_request(body, [("X-GitHub-Event", "push"), ("X-Hub-Signature-256", signature)])


def test_documented_example_verifies() -> None:
    verdict = github.verify(github_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.provider == "github"
    assert verdict.header == "X-Hub-Signature-256"
    assert verdict.expected == SIGNATURE
    assert verdict.signed_payload == "Hello, World!"


def test_tampered_body_fails() -> None:
    verdict = github.verify(github_request(tamper(BODY)), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason
    assert verdict.received == SIGNATURE


def test_wrong_secret_fails() -> None:
    verdict = github.verify(github_request(), "It's a secret to everybody", NOW)
    assert not verdict.valid
    assert verdict.hints


def test_sha1_header_is_checked_when_it_is_the_only_one() -> None:
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    request = make_request(BODY, [("X-GitHub-Event", "push"), ("X-Hub-Signature", f"sha1={digest}")])
    verdict = github.verify(request, SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.header == "X-Hub-Signature"


def test_sign_reproduces_the_documented_example() -> None:
    signed = github.sign(BODY, SECRET, 0)
    assert ("X-Hub-Signature-256", SIGNATURE) in signed.headers
    assert any(name == "X-Hub-Signature" for name, _ in signed.headers)


def test_missing_header_says_so() -> None:
    verdict = github.verify(make_request(BODY, [("X-GitHub-Event", "push")]), SECRET, NOW)
    assert not verdict.valid
    assert "no X-Hub-Signature-256 header" in verdict.reason


def test_bad_algorithm_option_is_a_config_error() -> None:
    with pytest.raises(SignatureConfigError, match="algorithm"):
        github.verify(github_request(), SECRET, NOW, algorithm="md5")


def test_empty_secret_is_a_config_error() -> None:
    with pytest.raises(SignatureConfigError, match="empty"):
        github.verify(github_request(), "  ", NOW)
