"""Linear: no Python SDK; the reference HMAC is the standard library's (test_node_sdks uses @linear/sdk)."""

from __future__ import annotations

import hashlib
import hmac
import json

from inspector.signatures import linear

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "lin_wh_b1d4e8f0a2c3"


def body_at(timestamp_ms: int | None) -> bytes:
    payload: dict[str, object] = {"action": "create", "type": "Issue", "data": {"id": "abc"}}
    if timestamp_ms is not None:
        payload["webhookTimestamp"] = timestamp_ms
    return json.dumps(payload, separators=(",", ":")).encode()


def reference(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def linear_request(body: bytes, signature: str | None = None) -> object:
    return make_request(
        body, [("Linear-Signature", signature or reference(body))], content_type="application/json"
    )


def test_signed_request_verifies() -> None:
    verdict = linear.verify(linear_request(body_at(NOW_TS * 1000 - 1500)), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.timestamp_skew == 1.5
    assert verdict.tolerance == 60


def test_tampered_body_fails() -> None:
    body = body_at(NOW_TS * 1000)
    verdict = linear.verify(linear_request(tamper(body), reference(body)), SECRET, NOW)
    assert not verdict.valid


def test_wrong_secret_fails() -> None:
    assert not linear.verify(linear_request(body_at(NOW_TS * 1000)), "lin_wh_other", NOW).valid


def test_stale_timestamp_fails_naming_skew_and_tolerance() -> None:
    verdict = linear.verify(linear_request(body_at((NOW_TS - 61) * 1000)), SECRET, NOW)
    assert not verdict.valid
    assert (verdict.timestamp_skew, verdict.tolerance) == (61, 60)
    assert "61 s old, outside the tolerance of 60 s" in verdict.reason


def test_missing_webhook_timestamp_fails() -> None:
    verdict = linear.verify(linear_request(body_at(None)), SECRET, NOW)
    assert not verdict.valid
    assert "webhookTimestamp" in verdict.reason


def test_sign_sets_the_timestamp_in_the_body() -> None:
    signed = linear.sign(body_at(None), SECRET, NOW_TS)
    assert json.loads(signed.body)["webhookTimestamp"] == NOW_TS * 1000
    assert dict(signed.headers)["Linear-Signature"] == reference(signed.body)
    assert linear.verify(from_signed(signed), SECRET, NOW).valid
