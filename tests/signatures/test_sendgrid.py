"""SendGrid: its SDK tests' published example and fresh keys, each vector confirmed by the sendgrid SDK."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sendgrid.helpers.eventwebhook import EventWebhook

from inspector.signatures import SignatureConfigError, sendgrid

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

# Published in SendGrid's SDK test suites (sendgrid-go, -nodejs, -csharp, -java).
PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7"
    "yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
)
PRIVATE_KEY = (
    "MHcCAQEEIEQmZgBEh9DcU9zMl34czK3xov4AYvm9P3r7rNB2dNXtoAoGCCqGSM49AwEHoUQDQgAEEDr2LjtURueP"
    "QzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
)
OTHER_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8RE"
    "ntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
)
SIGNATURE = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
TIMESTAMP = 1588788367
BODY = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'


def sendgrid_request(body: bytes = BODY, *, signature: str = SIGNATURE, timestamp: int = TIMESTAMP) -> object:
    headers = [
        ("X-Twilio-Email-Event-Webhook-Signature", signature),
        ("X-Twilio-Email-Event-Webhook-Timestamp", str(timestamp)),
    ]
    return make_request(body, headers, content_type="application/json")


def test_published_example_verifies() -> None:
    assert EventWebhook(PUBLIC_KEY).verify_signature(BODY.decode(), SIGNATURE, str(TIMESTAMP))
    verdict = sendgrid.verify(sendgrid_request(), PUBLIC_KEY, TIMESTAMP + 10)
    assert verdict.valid, verdict.reason
    assert verdict.timestamp_skew == 10


def test_freshly_signed_request_verifies() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(
        private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    signature = base64.b64encode(
        private.sign(f"{NOW_TS}".encode() + BODY, ec.ECDSA(hashes.SHA256()))
    ).decode()
    assert EventWebhook(public.decode()).verify_signature(BODY.decode(), signature, str(NOW_TS))
    verdict = sendgrid.verify(sendgrid_request(signature=signature, timestamp=NOW_TS), public.decode(), NOW)
    assert verdict.valid, verdict.reason


def test_tampered_body_fails() -> None:
    verdict = sendgrid.verify(sendgrid_request(tamper(BODY)), PUBLIC_KEY, TIMESTAMP)
    assert not verdict.valid
    assert "does not verify" in verdict.reason


def test_wrong_key_fails() -> None:
    assert not sendgrid.verify(sendgrid_request(), OTHER_KEY, TIMESTAMP).valid


def test_stale_timestamp_fails_naming_skew_and_tolerance() -> None:
    verdict = sendgrid.verify(sendgrid_request(), PUBLIC_KEY, TIMESTAMP + 3600)
    assert not verdict.valid
    assert (verdict.timestamp_skew, verdict.tolerance) == (3600, 300)
    assert "3600 s old, outside the tolerance of 300 s" in verdict.reason


def test_key_in_pem_form_is_accepted() -> None:
    pem = f"-----BEGIN PUBLIC KEY-----\n{PUBLIC_KEY}\n-----END PUBLIC KEY-----\n"
    assert sendgrid.verify(sendgrid_request(), pem, TIMESTAMP).valid


def test_unusable_key_is_a_config_error() -> None:
    with pytest.raises(SignatureConfigError, match="verification key"):
        sendgrid.verify(sendgrid_request(), "not-a-key", NOW)


def test_our_signature_passes_the_sdk_verifier() -> None:
    signed = sendgrid.sign(BODY, PRIVATE_KEY, NOW_TS)
    assert signed.verify_secret == PUBLIC_KEY
    headers = dict(signed.headers)
    assert EventWebhook(PUBLIC_KEY).verify_signature(
        BODY.decode(),
        headers["X-Twilio-Email-Event-Webhook-Signature"],
        headers["X-Twilio-Email-Event-Webhook-Timestamp"],
    )
    assert sendgrid.verify(from_signed(signed), PUBLIC_KEY, NOW).valid
