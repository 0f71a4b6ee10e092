"""Amazon SNS: messages signed with our own RSA key and a self-signed certificate, built here (no network).

The canonical strings follow Amazon's "Verifying the signatures of Amazon SNS messages" documentation:
"Name\\nvalue\\n" for Message, MessageId, Subject (if present), Timestamp, TopicArn, Type in a
Notification; Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type in a
(Un)SubscriptionConfirmation. Each test signs those strings itself with `cryptography`, independently
of the module under test.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from inspector.signatures import SignatureConfigError, aws_sns, detect, verify

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_KEY = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
CERTIFICATE = (
    x509.CertificateBuilder()
    .subject_name(_NAME)
    .issuer_name(_NAME)
    .public_key(_KEY.public_key())
    .serial_number(1)
    .not_valid_before(NOW - timedelta(days=1))
    .not_valid_after(NOW + timedelta(days=365))
    .sign(_KEY, hashes.SHA256())
    .public_bytes(serialization.Encoding.PEM)
    .decode()
)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_PUBLIC = (
    OTHER_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
TOPIC = "arn:aws:sns:us-west-2:123456789012:MyTopic"
CERT_URL = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-abc.pem"
HASH = {"1": hashes.SHA1(), "2": hashes.SHA256()}


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def notification(version: str = "1", *, subject: str | None = "Hello", at: datetime = NOW) -> dict[str, str]:
    fields = {
        "Type": "Notification",
        "MessageId": "da41e39f-ea4d-435a-b922-c6aae3915ebe",
        "TopicArn": TOPIC,
        "Message": "Hello world!\nsecond line",
        "Timestamp": stamp(at),
    }
    if subject is not None:
        fields["Subject"] = subject
    canonical = "".join(
        f"{name}\n{fields[name]}\n"
        for name in ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
        if name in fields
    )
    return signed(fields, canonical, version)


def confirmation(kind: str = "SubscriptionConfirmation", version: str = "1") -> dict[str, str]:
    fields = {
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=2336",
        "Timestamp": stamp(NOW),
    }
    canonical = "".join(
        f"{name}\n{fields[name]}\n"
        for name in ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    )
    return signed(fields, canonical, version)


def signed(fields: dict[str, str], canonical: str, version: str) -> dict[str, str]:
    signature = _KEY.sign(canonical.encode(), padding.PKCS1v15(), HASH[version])
    return {
        **fields,
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode(),
        "SigningCertURL": CERT_URL,
    }


def sns_request(fields: dict[str, str]) -> object:
    return make_request(
        json.dumps(fields, indent=2).encode(),
        [("x-amz-sns-message-type", fields["Type"]), ("Content-Type", "text/plain; charset=UTF-8")],
    )


@pytest.mark.parametrize("version", ["1", "2"])
def test_notification_verifies_with_the_certificate(version: str) -> None:
    verdict = aws_sns.verify(sns_request(notification(version)), CERTIFICATE, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.provider == "aws-sns"
    assert f"SHA{'1' if version == '1' else '256'}" in (verdict.algorithm or "")
    assert verdict.signed_payload is not None
    assert verdict.signed_payload.startswith("Message\nHello world!\nsecond line\nMessageId\n")
    assert "Subject\nHello\n" in verdict.signed_payload


def test_notification_without_subject_verifies() -> None:
    verdict = aws_sns.verify(sns_request(notification(subject=None)), CERTIFICATE, NOW)
    assert verdict.valid, verdict.reason
    assert "Subject" not in (verdict.signed_payload or "")


@pytest.mark.parametrize("kind", ["SubscriptionConfirmation", "UnsubscribeConfirmation"])
@pytest.mark.parametrize("version", ["1", "2"])
def test_subscription_messages_verify(kind: str, version: str) -> None:
    verdict = aws_sns.verify(sns_request(confirmation(kind, version)), CERTIFICATE, NOW)
    assert verdict.valid, verdict.reason
    assert "SubscribeURL\n" in (verdict.signed_payload or "")


def test_certificate_may_be_given_as_an_option_and_public_key_pem_works() -> None:
    request = sns_request(notification())
    assert verify("aws-sns", request, "unused", NOW, certificate=CERTIFICATE).valid
    public = _KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert aws_sns.verify(request, public.decode(), NOW).valid


def test_certificate_pasted_without_line_breaks_still_works() -> None:
    # What a password field makes of a pasted PEM.
    flattened = CERTIFICATE.replace("\n", "")
    assert aws_sns.verify(sns_request(notification()), flattened, NOW).valid


def test_tampered_message_fails() -> None:
    fields = notification()
    fields["Message"] = "Hello world?"
    verdict = aws_sns.verify(sns_request(fields), CERTIFICATE, NOW)
    assert not verdict.valid
    assert "does not verify" in verdict.reason


def test_tampered_body_bytes_fail() -> None:
    request = sns_request(notification())
    verdict = aws_sns.verify(make_request(tamper(request.body), request.headers), CERTIFICATE, NOW)
    assert not verdict.valid


def test_wrong_certificate_fails() -> None:
    verdict = aws_sns.verify(sns_request(notification()), OTHER_PUBLIC, NOW)
    assert not verdict.valid
    assert any(CERT_URL in hint for hint in verdict.hints)


def test_changed_signature_version_is_named() -> None:
    fields = notification("1")
    fields["SignatureVersion"] = "2"
    verdict = aws_sns.verify(sns_request(fields), CERTIFICATE, NOW)
    assert not verdict.valid
    assert "SignatureVersion 1" in verdict.hints[0]


def test_stale_timestamp_fails_when_a_tolerance_is_given() -> None:
    request = sns_request(notification(at=NOW - timedelta(hours=2)))
    assert aws_sns.verify(request, CERTIFICATE, NOW).valid
    verdict = aws_sns.verify(request, CERTIFICATE, NOW, tolerance=3600)
    assert not verdict.valid
    assert verdict.timestamp_skew == 7200
    assert "signature is correct" in verdict.reason


def test_foreign_certificate_url_is_pointed_out() -> None:
    fields = notification()
    fields["SigningCertURL"] = "https://attacker.example/cert.pem"
    verdict = aws_sns.verify(sns_request(fields), OTHER_PUBLIC, NOW)
    assert any("not an https URL of a .pem file on an Amazon SNS host" in hint for hint in verdict.hints)


def test_auto_detects_by_header_and_by_body() -> None:
    request = sns_request(notification())
    assert detect(request) == "aws-sns"
    assert detect(make_request(request.body)) == "aws-sns"
    assert verify("auto", request, CERTIFICATE, NOW).valid


def test_not_pem_is_a_config_error() -> None:
    with pytest.raises(SignatureConfigError, match="PEM"):
        aws_sns.verify(sns_request(notification()), "not a certificate", NOW)


def test_body_that_is_not_a_message_says_so() -> None:
    verdict = aws_sns.verify(make_request(b'{"a":1}'), CERTIFICATE, NOW)
    assert not verdict.valid
    assert "not an Amazon SNS message" in verdict.reason


@pytest.mark.parametrize("kind", ["Notification", "SubscriptionConfirmation"])
@pytest.mark.parametrize("version", ["1", "2"])
def test_our_sign_verifies_with_the_certificate(kind: str, version: str) -> None:
    signed = aws_sns.sign(
        b"order 42 shipped", PRIVATE_KEY, NOW_TS, message_type=kind, signature_version=version
    )
    request = from_signed(signed)
    fields = json.loads(signed.body)
    assert fields["Type"] == kind
    assert fields["SignatureVersion"] == version
    # Checked independently of our verifier: the canonical string signed with our key.
    _KEY.public_key().verify(
        base64.b64decode(fields["Signature"]),
        signed.signed_payload.encode(),
        padding.PKCS1v15(),
        HASH[version],
    )
    assert aws_sns.verify(request, CERTIFICATE, NOW).valid
    assert aws_sns.verify(request, signed.verify_secret or "", NOW).valid
