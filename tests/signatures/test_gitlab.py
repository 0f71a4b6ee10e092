"""GitLab: the token is compared as sent; nothing is signed, which the verdict says."""

from __future__ import annotations

from inspector.signatures import gitlab

from .helpers import NOW, make_request, tamper

TOKEN = "gitlab-secret-token"
BODY = b'{"object_kind":"push","ref":"refs/heads/main"}'


def gitlab_request(token: str = TOKEN, body: bytes = BODY) -> object:
    return make_request(body, [("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", token)])


def test_matching_token_verifies() -> None:
    verdict = gitlab.verify(gitlab_request(), TOKEN, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.header == "X-Gitlab-Token"


def test_body_is_not_protected_and_the_verdict_says_so() -> None:
    verdict = gitlab.verify(gitlab_request(body=tamper(BODY)), TOKEN, NOW)
    assert verdict.valid
    assert verdict.algorithm is not None
    assert "not protected" in verdict.algorithm


def test_tampered_token_fails() -> None:
    verdict = gitlab.verify(gitlab_request(token=tamper(TOKEN.encode()).decode()), TOKEN, NOW)
    assert not verdict.valid
    assert "does not equal" in verdict.reason


def test_wrong_secret_fails() -> None:
    assert not gitlab.verify(gitlab_request(), "other-token", NOW).valid


def test_whitespace_difference_is_diagnosed() -> None:
    verdict = gitlab.verify(gitlab_request(token=TOKEN + " "), TOKEN, NOW)
    assert not verdict.valid
    assert "whitespace" in verdict.hints[0]


def test_sign_sends_the_token() -> None:
    assert gitlab.sign(BODY, TOKEN, 0).headers == [("X-Gitlab-Token", TOKEN)]
