"""Razorpay: checked with Razorpay's own Python SDK (razorpay.Utility.verify_webhook_signature)."""

from __future__ import annotations

import hashlib
import hmac

import razorpay
from razorpay.errors import SignatureVerificationError

from inspector.signatures import detect, verify
from inspector.signatures import razorpay as razorpay_scheme

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "rzp_wh_secret_9fK2"
BODY = (
    b'{"entity":"event","account_id":"acc_BFQ7uQEaa7j2z7","event":"payment.captured","contains":["payment"],'
    b'"payload":{"payment":{"entity":{"id":"pay_DESlfW9H8K9uqM","amount":100,"currency":"INR"}}},'
    b'"created_at":1567674606}'
)
UTILITY = razorpay.Client(auth=("rzp_test_key", "rzp_test_secret")).utility


def sdk_accepts(body: bytes, signature: str, secret: str = SECRET) -> bool:
    try:
        UTILITY.verify_webhook_signature(body.decode(), signature, secret)
    except SignatureVerificationError:
        return False
    return True


def razorpay_request(body: bytes = BODY) -> object:
    # The SDK only verifies; the signature it accepts is made here and confirmed with it.
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sdk_accepts(body, signature)
    return make_request(
        body,
        [("X-Razorpay-Signature", signature), ("X-Razorpay-Event-Id", "evt_1")],
        content_type="application/json",
    )


def test_sdk_accepted_signature_verifies() -> None:
    verdict = razorpay_scheme.verify(razorpay_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.header == "X-Razorpay-Signature"
    assert verdict.algorithm == "HMAC-SHA256 of the raw body, hex"


def test_tampered_body_fails() -> None:
    request = razorpay_request()
    verdict = razorpay_scheme.verify(make_request(tamper(BODY), request.headers), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_secret_fails() -> None:
    verdict = razorpay_scheme.verify(razorpay_request(), "rzp_test_secret", NOW)
    assert not verdict.valid
    assert any("webhook was created" in hint for hint in verdict.hints)


def test_trailing_newline_is_diagnosed() -> None:
    request = razorpay_request()
    verdict = razorpay_scheme.verify(make_request(BODY + b"\n", request.headers), SECRET, NOW)
    assert any("trailing newline removed" in hint for hint in verdict.hints)


def test_auto_detection() -> None:
    assert detect(razorpay_request()) == "razorpay"
    assert verify("auto", razorpay_request(), SECRET, NOW).valid


def test_our_signature_passes_the_sdk() -> None:
    signed = razorpay_scheme.sign(BODY, SECRET, NOW_TS)
    assert sdk_accepts(BODY, dict(signed.headers)["X-Razorpay-Signature"])
    assert not sdk_accepts(BODY, dict(signed.headers)["X-Razorpay-Signature"], "other")
    assert razorpay_scheme.verify(from_signed(signed), SECRET, NOW).valid
