"""Calendly: signed as Calendly's "Webhook Signatures" documentation describes; no SDK verifier exists.

https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures: the header is
"t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>' keyed with the signing key>", and the
documented example rejects signatures older than three minutes. Computed here with the standard library.
"""

from __future__ import annotations

import hashlib
import hmac

from inspector.signatures import calendly, detect, verify

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "calendly-signing-key-3b1f"
BODY = (
    b'{"created_at":"2026-05-01T12:00:00.000000Z","created_by":"https://api.calendly.com/users/AAAA",'
    b'"event":"invitee.created","payload":{"email":"test@example.com","name":"John Doe"}}'
)
HEADER = "Calendly-Webhook-Signature"


def documented_header(body: bytes = BODY, *, t: int = NOW_TS, secret: str = SECRET) -> str:
    signature = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={signature}"


def calendly_request(body: bytes = BODY, **kwargs: object) -> object:
    return make_request(body, [(HEADER, documented_header(body, **kwargs))], content_type="application/json")


def test_documented_signature_verifies() -> None:
    verdict = calendly.verify(calendly_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.signed_payload == f"{NOW_TS}.{BODY.decode()}"
    assert verdict.tolerance == 180


def test_tampered_body_fails() -> None:
    verdict = calendly.verify(make_request(tamper(BODY), [(HEADER, documented_header())]), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_secret_fails() -> None:
    verdict = calendly.verify(calendly_request(), "someone-elses-key", NOW)
    assert not verdict.valid
    assert any("signing_key" in hint for hint in verdict.hints)


def test_stale_timestamp_fails_after_three_minutes() -> None:
    assert calendly.verify(calendly_request(t=NOW_TS - 170), SECRET, NOW).valid
    verdict = calendly.verify(calendly_request(t=NOW_TS - 181), SECRET, NOW)
    assert not verdict.valid
    assert verdict.timestamp_skew == 181
    assert "signature is correct" in verdict.reason


def test_header_without_v1_is_reported() -> None:
    verdict = calendly.verify(make_request(BODY, [(HEADER, f"t={NOW_TS}")]), SECRET, NOW)
    assert not verdict.valid
    assert "no v1=" in verdict.reason


def test_auto_detection() -> None:
    assert detect(calendly_request()) == "calendly"
    assert verify("auto", calendly_request(), SECRET, NOW).valid


def test_our_signature_matches_the_documented_recipe() -> None:
    signed = calendly.sign(BODY, SECRET, NOW_TS)
    assert (HEADER, documented_header()) in signed.headers
    assert calendly.verify(from_signed(signed), SECRET, NOW).valid
