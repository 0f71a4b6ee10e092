"""Twitch EventSub: signed as Twitch's "Handling Webhook Events" documentation describes.

https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message: "sha256=" +
hex HMAC-SHA256 of Twitch-Eventsub-Message-Id + Twitch-Eventsub-Message-Timestamp + raw body, keyed with
the subscription's secret; messages older than 10 minutes are to be rejected. Twitch publishes no SDK
verifier, so the documented recipe is computed here with the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from inspector.signatures import detect, twitch, verify

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "s3cRe7-for-eventsub"
MESSAGE_ID = "befa7b53-d79d-478f-86b9-120f112b044e"
BODY = (
    b'{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2"},'
    b'"event":{"user_id":"1234","user_login":"cool_user","broadcaster_user_id":"1337"}}'
)


def stamp(seconds_ago: float = 0) -> str:
    # Twitch writes nanoseconds.
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")


def twitch_request(body: bytes = BODY, *, timestamp: str | None = None, secret: str = SECRET) -> object:
    timestamp = timestamp or stamp()
    message = MESSAGE_ID.encode() + timestamp.encode() + body
    signature = "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return make_request(
        body,
        [
            ("Twitch-Eventsub-Message-Id", MESSAGE_ID),
            ("Twitch-Eventsub-Message-Retry", "0"),
            ("Twitch-Eventsub-Message-Type", "notification"),
            ("Twitch-Eventsub-Message-Signature", signature),
            ("Twitch-Eventsub-Message-Timestamp", timestamp),
        ],
        content_type="application/json",
    )


def test_documented_signature_verifies() -> None:
    verdict = twitch.verify(twitch_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.signed_payload == MESSAGE_ID + stamp() + BODY.decode()
    assert verdict.tolerance == 600


def test_tampered_body_fails() -> None:
    request = twitch_request()
    verdict = twitch.verify(make_request(tamper(BODY), request.headers), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_secret_fails() -> None:
    verdict = twitch.verify(twitch_request(), "the-client-secret", NOW)
    assert not verdict.valid
    assert any("transport" in hint for hint in verdict.hints)


def test_stale_timestamp_fails_after_ten_minutes() -> None:
    assert twitch.verify(twitch_request(timestamp=stamp(590)), SECRET, NOW).valid
    verdict = twitch.verify(twitch_request(timestamp=stamp(700)), SECRET, NOW)
    assert not verdict.valid
    assert "signature is correct" in verdict.reason
    assert verdict.timestamp_skew is not None
    assert 699 < verdict.timestamp_skew < 701


def test_missing_message_id_is_reported() -> None:
    request = twitch_request()
    headers = [(name, value) for name, value in request.headers if name != "twitch-eventsub-message-id"]
    verdict = twitch.verify(make_request(BODY, headers), SECRET, NOW)
    assert not verdict.valid
    assert "Twitch-Eventsub-Message-Id" in verdict.reason


def test_auto_detection() -> None:
    assert detect(twitch_request()) == "twitch"
    assert verify("auto", twitch_request(), SECRET, NOW).valid


def test_our_signature_matches_the_documented_recipe() -> None:
    signed = twitch.sign(BODY, SECRET, NOW_TS)
    headers = dict(signed.headers)
    message = (
        headers["Twitch-Eventsub-Message-Id"] + headers["Twitch-Eventsub-Message-Timestamp"]
    ).encode() + BODY
    expected = "sha256=" + hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    assert headers["Twitch-Eventsub-Message-Signature"] == expected
    assert twitch.verify(from_signed(signed), SECRET, NOW).valid
