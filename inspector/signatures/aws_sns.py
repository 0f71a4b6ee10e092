"""Amazon SNS: RSA signature (SHA1 for SignatureVersion 1, SHA256 for 2) over the message's canonical string.

The signing certificate is given by the user (the secret, or the certificate option, in PEM): fetching
SigningCertURL is I/O and has no place here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    SignatureConfigError,
    Signed,
    Verdict,
    b64decode_lenient,
    choice_option,
    display,
    epoch,
    failed,
    parse_iso_timestamp,
    require_secret,
    seconds_option,
    text_option,
    utf8,
)
from inspector.signatures.engine import check_public_key

NAME = "aws-sns"
FIELD = "Signature"
TYPE_HEADER = "x-amz-sns-message-type"
# Amazon documents no freshness window for SNS; pass tolerance to apply one.
TOLERANCE = None
# The fields each message type signs, in this order, as "Name\nvalue\n"; Subject only when present.
NOTIFICATION = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SIGNED_FIELDS = {
    "Notification": NOTIFICATION,
    "SubscriptionConfirmation": SUBSCRIPTION,
    "UnsubscribeConfirmation": SUBSCRIPTION,
}
TYPES = {name.lower(): name for name in SIGNED_FIELDS}
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
# Where Amazon SNS keeps its signing certificates: sns.<region>.amazonaws.com (.com.cn in China).
SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
USER_AGENT = "Amazon Simple Notification Service Agent"


def message(body: bytes) -> dict[str, Any] | None:
    """The SNS message in the body, or None when the body is not one."""
    if b'"Type"' not in body or b'"Signature' not in body:
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict) or parsed.get("Type") not in SIGNED_FIELDS:
        return None
    return parsed


def canonical(fields: dict[str, Any]) -> bytes:
    names = SIGNED_FIELDS.get(str(fields.get("Type")), NOTIFICATION)
    lines = [
        f"{name}\n{fields[name]}\n"
        for name in names
        # Subject is signed only when the notification has one.
        if name in fields and not (name == "Subject" and fields[name] is None)
    ]
    return utf8("".join(lines))


def _canonical_of(body: bytes) -> bytes:
    fields = message(body)
    return canonical(fields) if fields is not None else b""


def detect(request: CapturedRequest) -> bool:
    if request.header(TYPE_HEADER) is not None:
        return True
    return b'"SigningCertURL"' in request.body and message(request.body) is not None


_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.DOTALL)


def pem_lines(text: str) -> bytes:
    """PEM with its line breaks restored: a password field (the verify form's) drops them."""
    match = _PEM.search(text)
    if match is None:
        return utf8(text.strip())
    label, body = match.group(1), "".join(match.group(2).split())
    wrapped = "\n".join(body[index : index + 64] for index in range(0, len(body), 64))
    return utf8(f"-----BEGIN {label}-----\n{wrapped}\n-----END {label}-----\n")


def public_key(pem: str) -> RSAPublicKey:
    """The RSA public key of a PEM certificate (as SigningCertURL serves it) or a PEM public key."""
    data = pem_lines(require_secret(pem, "signing certificate"))
    try:
        if b"CERTIFICATE-----" in data:
            key: object = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError:
        raise SignatureConfigError(
            "The signing certificate must be PEM: the file SigningCertURL points to (-----BEGIN "
            "CERTIFICATE-----), or the RSA public key in PEM."
        ) from None
    if not isinstance(key, RSAPublicKey):
        raise SignatureConfigError("Amazon SNS signs with RSA: this certificate's key is not an RSA key.")
    return key


def signing_cert_url(body: bytes) -> str | None:
    """The message's SigningCertURL, if the body is an SNS message that names one."""
    fields = message(body)
    url = fields.get("SigningCertURL") if fields is not None else None
    return url if isinstance(url, str) else None


def cert_url_problem(url: str) -> str | None:
    """Why a SigningCertURL cannot be Amazon's, or None: https, on sns.<region>.amazonaws.com, a .pem."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return f"SigningCertURL ({url}) is not a URL."
    if parts.scheme != "https" or not SNS_HOST.fullmatch(host) or not parts.path.endswith(".pem"):
        return (
            f"SigningCertURL ({url}) is not an https URL of a .pem file on an Amazon SNS host "
            "(sns.<region>.amazonaws.com): a message naming such a certificate did not come from Amazon SNS."
        )
    return None


def _cert_url_hints(fields: dict[str, Any]) -> list[str]:
    url = fields.get("SigningCertURL")
    if not isinstance(url, str):
        return ["The message has no SigningCertURL: Amazon SNS always names its signing certificate."]
    problem = cert_url_problem(url)
    return (
        [problem]
        if problem
        else [f"Check that the certificate given is the one SigningCertURL names ({url})."]
    )


def verify(
    request: CapturedRequest,
    secret: str,
    now: datetime | float,
    *,
    certificate: str | None = None,
    tolerance: float | None = None,
) -> Verdict:
    """The secret (or `certificate`) is the PEM certificate from the message's SigningCertURL."""
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    key = public_key(text_option("certificate", certificate) or secret)
    fields = message(request.body)
    if fields is None:
        return failed(
            NAME,
            "The body is not an Amazon SNS message: a JSON object with Type Notification, "
            "SubscriptionConfirmation or UnsubscribeConfirmation and a Signature.",
            header=FIELD,
            hints=["Was this request sent by Amazon SNS? Raw message delivery sends no signature."],
        )
    version = str(fields.get("SignatureVersion", "1"))
    signature = fields.get(FIELD)
    raw = b64decode_lenient(signature) if isinstance(signature, str) else None
    if version not in HASHES:
        return failed(
            NAME,
            f"SignatureVersion is {version!r}; Amazon SNS uses 1 (SHA1withRSA) or 2 (SHA256withRSA).",
            header=FIELD,
            received=display(str(signature)),
        )
    if raw is None:
        return failed(NAME, "The Signature field is missing or not base64.", header=FIELD)
    algorithm = f"RSA PKCS#1 v1.5 with SHA{'1' if version == '1' else '256'} (SignatureVersion {version})"
    algorithm += f" over the canonical string of a {fields['Type']} message, signature in base64"
    digest = HASHES[version]

    def checks(payload: bytes) -> bool:
        try:
            key.verify(raw, payload, padding.PKCS1v15(), digest())
        except InvalidSignature:
            return False
        return True

    hints = _cert_url_hints(fields)
    other = "2" if version == "1" else "1"
    payload = canonical(fields)
    try:
        key.verify(raw, payload, padding.PKCS1v15(), HASHES[other]())
    except InvalidSignature:
        pass
    else:
        hints.insert(
            0,
            f"The signature verifies with SignatureVersion {other}, but the message says {version}: the "
            "SignatureVersion field was changed after signing.",
        )
    return check_public_key(
        provider=NAME,
        header=FIELD,
        algorithm=algorithm,
        request=request,
        received=str(signature),
        checks=checks,
        message=_canonical_of,
        timestamp=parse_iso_timestamp(
            fields.get("Timestamp") if isinstance(fields.get("Timestamp"), str) else None
        ),
        now=epoch(now),
        tolerance=allowed,
        hints=hints,
    )


def _private_key(secret: str) -> RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(utf8(require_secret(secret, "private key").strip()), None)
    except (ValueError, TypeError):
        raise SignatureConfigError("To sign like Amazon SNS, give an RSA private key in PEM.") from None
    if not isinstance(key, RSAPrivateKey):
        raise SignatureConfigError("To sign like Amazon SNS, give an RSA private key in PEM.")
    return key


def sign(
    body: bytes,
    secret: str,
    timestamp: int,
    *,
    message_type: str | None = None,
    signature_version: str | None = None,
    topic_arn: str | None = None,
    subject: str | None = None,
    certificate_url: str | None = None,
) -> Signed:
    """An SNS message carrying `body` as its Message, signed with `secret`, an RSA private key in PEM.

    verify_secret is the matching public key: receivers under test must trust it instead of fetching
    SigningCertURL, since no Amazon certificate matches a key of ours.
    """
    key = _private_key(secret)
    kind = TYPES[choice_option("message_type", message_type, tuple(TYPES), "notification")]
    version = choice_option("signature_version", signature_version, ("1", "2"), "1")
    topic = text_option("topic_arn", topic_arn) or "arn:aws:sns:us-east-1:123456789012:inspector-test"
    message_id = str(uuid.UUID(bytes=hashlib.sha256(body + str(timestamp).encode()).digest()[:16]))
    stamp = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    fields: dict[str, Any] = {"Type": kind, "MessageId": message_id}
    region = topic.split(":")[3] if topic.count(":") >= 5 else "us-east-1"
    if kind == "Notification":
        fields |= {"TopicArn": topic}
        if subject := text_option("subject", subject):
            fields["Subject"] = subject
        fields |= {"Message": display(body), "Timestamp": stamp}
    else:
        token = hashlib.sha256(b"token" + utf8(message_id)).hexdigest()
        fields |= {
            "Token": token,
            "TopicArn": topic,
            "Message": f"You have chosen to subscribe to the topic {topic}.\nTo confirm the subscription, "
            "visit the SubscribeURL included in this message.",
            "SubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
            f"{topic}&Token={token}",
            "Timestamp": stamp,
        }
    payload = canonical(fields)
    signature = key.sign(payload, padding.PKCS1v15(), HASHES[version]())
    fields |= {
        "SignatureVersion": version,
        FIELD: base64.b64encode(signature).decode("ascii"),
        "SigningCertURL": text_option("certificate_url", certificate_url)
        or f"https://sns.{region}.amazonaws.com/SimpleNotificationService-inspector-test.pem",
    }
    if kind == "Notification":
        fields["UnsubscribeURL"] = (
            f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic}:{message_id}"
        )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Signed(
        provider=NAME,
        headers=[
            (TYPE_HEADER, kind),
            ("x-amz-sns-message-id", message_id),
            ("x-amz-sns-topic-arn", topic),
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("User-Agent", USER_AGENT),
        ],
        body=utf8(json.dumps(fields, indent=2, ensure_ascii=False)),
        signed_payload=display(payload),
        verify_secret=public.decode("ascii"),
    )
