"""Zoom: no Python SDK signs webhooks, so the reference is the standard library's HMAC per Zoom's docs."""

from __future__ import annotations

import hashlib
import hmac

from inspector.signatures import zoom

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "zoom-secret-token"
BODY = b'{"event":"meeting.started","payload":{"account_id":"abc","object":{"id":"123"}},"event_ts":1}'


def reference(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    message = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def zoom_request(body: bytes = BODY, *, timestamp: int = NOW_TS, signature: str | None = None) -> object:
    headers = [
        ("x-zm-request-timestamp", str(timestamp)),
        ("x-zm-signature", signature or reference(body, timestamp)),
    ]
    return make_request(body, headers, content_type="application/json")


def test_signed_request_verifies() -> None:
    verdict = zoom.verify(zoom_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason


def test_tampered_body_fails() -> None:
    verdict = zoom.verify(zoom_request(tamper(BODY), signature=reference(BODY, NOW_TS)), SECRET, NOW)
    assert not verdict.valid


def test_wrong_secret_fails() -> None:
    verdict = zoom.verify(zoom_request(), "wrong", NOW)
    assert not verdict.valid
    assert any("Secret Token" in hint for hint in verdict.hints)


def test_stale_timestamp_fails_naming_skew_and_tolerance() -> None:
    verdict = zoom.verify(zoom_request(timestamp=NOW_TS - 1000), SECRET, NOW)
    assert not verdict.valid
    assert (verdict.timestamp_skew, verdict.tolerance) == (1000, 300)
    assert "1000 s old" in verdict.reason


def test_sign_round_trips() -> None:
    signed = zoom.sign(BODY, SECRET, NOW_TS)
    assert dict(signed.headers)["x-zm-signature"] == reference(BODY, NOW_TS)
    assert zoom.verify(from_signed(signed), SECRET, NOW).valid
