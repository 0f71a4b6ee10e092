"""Slack: test requests are signed with slack_sdk, and our sign() is checked with its verifier."""

from __future__ import annotations

from slack_sdk.signature import Clock, SignatureVerifier

from inspector.signatures import slack

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather&text=94070"


class FixedClock(Clock):
    def now(self) -> float:
        return float(NOW_TS)


def slack_request(body: bytes = BODY, *, timestamp: int = NOW_TS, secret: str = SECRET) -> object:
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    assert signature is not None
    headers = [("X-Slack-Request-Timestamp", str(timestamp)), ("X-Slack-Signature", signature)]
    return make_request(body, headers, content_type="application/x-www-form-urlencoded")


def test_sdk_signed_request_verifies() -> None:
    verdict = slack.verify(slack_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.signed_payload == f"v0:{NOW_TS}:{BODY.decode()}"


def test_tampered_body_fails() -> None:
    request = slack_request()
    verdict = slack.verify(make_request(tamper(BODY), request.headers), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_secret_fails() -> None:
    verdict = slack.verify(slack_request(), "0000000000000000000000000000000", NOW)
    assert not verdict.valid
    assert any("Signing Secret" in hint for hint in verdict.hints)


def test_stale_timestamp_fails_naming_skew_and_tolerance() -> None:
    verdict = slack.verify(slack_request(timestamp=NOW_TS - 600), SECRET, NOW)
    assert not verdict.valid
    assert (verdict.timestamp_skew, verdict.tolerance) == (600, 300)
    assert "600 s old, outside the tolerance of 300 s" in verdict.reason


def test_missing_timestamp_header_is_reported() -> None:
    request = slack_request()
    headers = [(name, value) for name, value in request.headers if name != "x-slack-request-timestamp"]
    verdict = slack.verify(make_request(BODY, headers), SECRET, NOW)
    assert not verdict.valid
    assert "X-Slack-Request-Timestamp" in verdict.reason


def test_our_signature_passes_the_sdk_verifier() -> None:
    signed = slack.sign(BODY, SECRET, NOW_TS)
    headers = dict(signed.headers)
    verifier = SignatureVerifier(SECRET, clock=FixedClock())
    assert verifier.is_valid(BODY, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert slack.verify(from_signed(signed), SECRET, NOW).valid
