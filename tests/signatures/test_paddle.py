"""Paddle: signatures come from paddle-python-sdk's PaddleSignature, which also checks our sign()."""

from __future__ import annotations

from paddle_billing.Notifications.PaddleSignature import PaddleSignature
from paddle_billing.Notifications.Secret import Secret

from inspector.signatures import paddle

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI"
BODY = b'{"event_id":"evt_01h8bzakzx3hm2fmen703n5q45","event_type":"transaction.completed","data":{}}'


def paddle_request(
    body: bytes = BODY, *, timestamp: int = NOW_TS, secrets: tuple[str, ...] = (SECRET,)
) -> object:
    parts = [f"ts={timestamp}"]
    for secret in secrets:
        digest = PaddleSignature.calculate_hmac(secret, f"{timestamp}:".encode() + body).hexdigest()
        parts.append(f"h1={digest}")
    return make_request(body, [("Paddle-Signature", ";".join(parts))], content_type="application/json")


def test_sdk_signed_request_verifies() -> None:
    verdict = paddle.verify(paddle_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.tolerance == 5


def test_tampered_body_fails() -> None:
    request = paddle_request()
    verdict = paddle.verify(make_request(tamper(BODY), request.headers), SECRET, NOW)
    assert not verdict.valid


def test_wrong_secret_fails() -> None:
    verdict = paddle.verify(paddle_request(), "pdl_ntfset_other", NOW)
    assert not verdict.valid
    assert any("pdl_ntfset_" in hint for hint in verdict.hints)


def test_stale_timestamp_fails_naming_skew_and_tolerance() -> None:
    verdict = paddle.verify(paddle_request(timestamp=NOW_TS - 6), SECRET, NOW)
    assert not verdict.valid
    assert (verdict.timestamp_skew, verdict.tolerance) == (6, 5)
    assert "6 s old, outside the tolerance of 5 s" in verdict.reason


def test_any_h1_may_match_during_rotation() -> None:
    verdict = paddle.verify(paddle_request(secrets=("pdl_ntfset_old", SECRET)), SECRET, NOW)
    assert verdict.valid, verdict.reason


def test_our_signature_passes_the_sdk_verifier() -> None:
    signed = paddle.sign(BODY, SECRET, NOW_TS)
    assert PaddleSignature().verify(dict(signed.headers)["Paddle-Signature"], BODY.decode(), Secret(SECRET))
    assert paddle.verify(from_signed(signed), SECRET, NOW).valid
