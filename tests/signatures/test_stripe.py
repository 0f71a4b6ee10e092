"""Stripe: test requests are signed with the stripe SDK, and our sign() is checked with its verifier."""

from __future__ import annotations

import stripe

from inspector.signatures import stripe as stripe_scheme

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "whsec_3gMtuBLQ6A8Jm1Gs9SnDYZcRbyYn4lN2"
BODY = (
    b'{"id":"evt_1Nx","object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":2000}}}'
)


def stripe_request(body: bytes = BODY, *, timestamp: int = NOW_TS, secret: str = SECRET) -> object:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=timestamp)
    return make_request(body, [("Stripe-Signature", header)], content_type="application/json")


def test_sdk_signed_request_verifies() -> None:
    verdict = stripe_scheme.verify(stripe_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.header == "Stripe-Signature"
    assert verdict.signed_payload == f"{NOW_TS}.{BODY.decode()}"
    assert verdict.tolerance == 300
    assert verdict.timestamp_skew == 0


def test_tampered_body_fails() -> None:
    request = stripe_request()
    verdict = stripe_scheme.verify(make_request(tamper(BODY), request.headers), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_secret_fails() -> None:
    verdict = stripe_scheme.verify(stripe_request(), "whsec_somebodyElsesSecret", NOW)
    assert not verdict.valid
    assert any("whsec_" in hint for hint in verdict.hints)


def test_stale_timestamp_fails_naming_skew_and_tolerance() -> None:
    verdict = stripe_scheme.verify(stripe_request(timestamp=NOW_TS - 301), SECRET, NOW)
    assert not verdict.valid
    assert verdict.timestamp_skew == 301
    assert verdict.tolerance == 300
    assert "301 s old" in verdict.reason
    assert "300 s" in verdict.reason
    assert "signature is correct" in verdict.reason


def test_tolerance_zero_skips_the_freshness_check() -> None:
    verdict = stripe_scheme.verify(stripe_request(timestamp=NOW_TS - 86400), SECRET, NOW, tolerance=0)
    assert verdict.valid, verdict.reason
    assert verdict.timestamp_skew == 86400


def test_any_of_several_v1_signatures_may_match() -> None:
    old = stripe.WebhookSignature.generate_signature_header(BODY.decode(), "whsec_old", timestamp=NOW_TS)
    new = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, timestamp=NOW_TS)
    header = old + "," + new.split(",", 1)[1]
    verdict = stripe_scheme.verify(make_request(BODY, [("Stripe-Signature", header)]), SECRET, NOW)
    assert verdict.valid, verdict.reason


def test_api_key_instead_of_signing_secret_is_explained() -> None:
    verdict = stripe_scheme.verify(stripe_request(), "sk_test_51Abc", NOW)
    assert any("API key" in hint for hint in verdict.hints)


def test_header_without_v1_is_reported() -> None:
    request = make_request(BODY, [("Stripe-Signature", f"t={NOW_TS},v0=abc")])
    verdict = stripe_scheme.verify(request, SECRET, NOW)
    assert not verdict.valid
    assert "no v1=" in verdict.reason


def test_our_signature_passes_the_sdk_verifier() -> None:
    signed = stripe_scheme.sign(BODY, SECRET, NOW_TS)
    header = dict(signed.headers)["Stripe-Signature"]
    assert stripe.WebhookSignature.verify_header(BODY.decode(), header, SECRET, tolerance=None)
    assert stripe_scheme.verify(from_signed(signed), SECRET, NOW).valid
