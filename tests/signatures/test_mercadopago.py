"""Mercado Pago: signed as its "Notifications > Webhooks" documentation describes; the SDK has no verifier.

https://www.mercadopago.com.mx/developers/en/docs/checkout-pro-orders/notifications ("validate the
origin of a notification"): x-signature is "ts=<seconds>,v1=<hex HMAC-SHA256>" of the manifest
"id:<data.id from the query, lower-cased when alphanumeric>;request-id:<x-request-id>;ts:<ts>;", parts
whose value is absent left out. Computed here with the standard library.
"""

from __future__ import annotations

import hashlib
import hmac

from inspector.signatures import detect, mercadopago, verify

from .helpers import NOW, NOW_TS, from_signed, make_request

SECRET = "mp-webhook-secret-a1b2c3"
REQUEST_ID = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e"
BODY = b'{"action":"payment.updated","api_version":"v1","data":{"id":"123456"},"type":"payment"}'
URL = "https://inspector.example/b/abc123?data.id=ABC123&type=payment"


def documented_header(manifest: str, *, ts: int = NOW_TS, secret: str = SECRET) -> str:
    return f"ts={ts},v1={hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()}"


def mp_request(*, ts: int = NOW_TS, secret: str = SECRET, url: str = URL, body: bytes = BODY) -> object:
    header = documented_header(f"id:abc123;request-id:{REQUEST_ID};ts:{ts};", ts=ts, secret=secret)
    return make_request(body, [("x-signature", header), ("x-request-id", REQUEST_ID)], url=url)


def test_documented_manifest_verifies() -> None:
    verdict = mercadopago.verify(mp_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.signed_payload == f"id:abc123;request-id:{REQUEST_ID};ts:{NOW_TS};"


def test_changed_data_id_fails() -> None:
    # The body is not signed; what identifies the resource is data.id in the URL.
    verdict = mercadopago.verify(mp_request(url=URL.replace("ABC123", "ABC124")), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_secret_fails() -> None:
    verdict = mercadopago.verify(mp_request(secret="APP_USR-access-token"), SECRET, NOW)
    assert not verdict.valid
    assert any("secret signature" in hint for hint in verdict.hints)


def test_stale_timestamp_fails_when_a_tolerance_is_given() -> None:
    request = mp_request(ts=NOW_TS - 3600)
    assert mercadopago.verify(request, SECRET, NOW).valid
    verdict = mercadopago.verify(request, SECRET, NOW, tolerance=300)
    assert not verdict.valid
    assert verdict.timestamp_skew == 3600


def test_absent_parts_are_left_out_of_the_manifest() -> None:
    header = documented_header(f"ts:{NOW_TS};")
    request = make_request(b"{}", [("x-signature", header)], url="https://inspector.example/b/abc123")
    verdict = mercadopago.verify(request, SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert any("x-request-id" in hint for hint in mercadopago.verify(request, "x", NOW).hints)


def test_auto_detection_needs_the_request_id_too() -> None:
    assert detect(mp_request()) == "mercadopago"
    assert verify("auto", mp_request(), SECRET, NOW).valid
    header = documented_header("ts:1;")
    assert detect(make_request(BODY, [("x-signature", header)])) is None


def test_our_signature_matches_the_documented_recipe() -> None:
    signed = mercadopago.sign(BODY, SECRET, NOW_TS, url="https://inspector.example/b/abc123")
    headers = dict(signed.headers)
    manifest = f"id:123456;request-id:{headers['x-request-id']};ts:{NOW_TS};"
    assert headers["x-signature"] == documented_header(manifest)
    assert signed.url == "https://inspector.example/b/abc123?data.id=123456"
    assert mercadopago.verify(from_signed(signed), SECRET, NOW).valid
