"""Generic HMAC: options for header, hash, encoding, prefix, secret encoding and what is signed."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from inspector.signatures import SignatureConfigError, generic

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "generic-secret"
BODY = b'{"order":42,"status":"paid"}'


def hexmac(message: bytes, secret: bytes = SECRET.encode(), algorithm: str = "sha256") -> str:
    return hmac.new(secret, message, getattr(hashlib, algorithm)).hexdigest()


def test_default_is_hex_sha256_of_the_body() -> None:
    request = make_request(BODY, [("X-Signature", hexmac(BODY))])
    verdict = generic.verify(request, SECRET, NOW, header="X-Signature")
    assert verdict.valid, verdict.reason
    assert verdict.header == "X-Signature"


def test_tampered_body_fails() -> None:
    request = make_request(tamper(BODY), [("X-Signature", hexmac(BODY))])
    assert not generic.verify(request, SECRET, NOW, header="X-Signature").valid


def test_wrong_secret_fails() -> None:
    request = make_request(BODY, [("X-Signature", hexmac(BODY))])
    assert not generic.verify(request, "other", NOW, header="X-Signature").valid


def test_sha512_base64_with_prefix() -> None:
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha512).digest()
    request = make_request(BODY, [("X-Sig", "sha512=" + base64.b64encode(digest).decode())])
    verdict = generic.verify(
        request, SECRET, NOW, header="X-Sig", algorithm="sha512", encoding="base64", prefix="sha512="
    )
    assert verdict.valid, verdict.reason


def test_timestamp_template_and_stale_timestamp() -> None:
    def signed_at(timestamp: int) -> object:
        signature = hexmac(f"{timestamp}.".encode() + BODY)
        return make_request(BODY, [("X-Sig", signature), ("X-Timestamp", str(timestamp))])

    options = {"header": "X-Sig", "payload": "{timestamp}.{body}", "timestamp_header": "X-Timestamp"}
    verdict = generic.verify(signed_at(NOW_TS), SECRET, NOW, **options)
    assert verdict.valid, verdict.reason
    assert verdict.signed_payload == f"{NOW_TS}.{BODY.decode()}"
    stale = generic.verify(signed_at(NOW_TS - 500), SECRET, NOW, **options)
    assert not stale.valid
    assert (stale.timestamp_skew, stale.tolerance) == (500, 300)
    assert "500 s old, outside the tolerance of 300 s" in stale.reason


def test_millisecond_timestamps_are_recognised() -> None:
    stamp = str(NOW_TS * 1000 - 2000)
    request = make_request(BODY, [("X-Sig", hexmac(stamp.encode() + BODY)), ("X-Ts", stamp)])
    verdict = generic.verify(
        request, SECRET, NOW, header="X-Sig", payload="{timestamp}{body}", timestamp_header="X-Ts"
    )
    assert verdict.valid, verdict.reason
    assert verdict.timestamp_skew == 2


def test_header_placeholder_and_escaped_braces() -> None:
    message = b"{evt_1}." + BODY
    request = make_request(BODY, [("X-Sig", hexmac(message)), ("X-Id", "evt_1")])
    verdict = generic.verify(request, SECRET, NOW, header="X-Sig", payload="{{{header:X-Id}}}.{body}")
    assert verdict.valid, verdict.reason


def test_base64_secret_encoding() -> None:
    key = b"\x00\x01binary-key\xff"
    request = make_request(BODY, [("X-Sig", hexmac(BODY, key))])
    secret = base64.b64encode(key).decode()
    assert generic.verify(request, secret, NOW, header="X-Sig", secret_encoding="base64").valid


def test_url_template_with_public_url_option() -> None:
    public = "https://hooks.example.com/b/abc123"
    request = make_request(
        BODY, [("X-Sig", hexmac(public.encode() + BODY))], url="http://127.0.0.1:8000/b/abc123"
    )
    assert not generic.verify(request, SECRET, NOW, header="X-Sig", payload="{url}{body}").valid
    assert generic.verify(request, SECRET, NOW, header="X-Sig", payload="{url}{body}", url=public).valid


def test_header_option_is_required() -> None:
    with pytest.raises(SignatureConfigError, match="header"):
        generic.verify(make_request(BODY), SECRET, NOW)


def test_unknown_placeholder_is_a_config_error() -> None:
    with pytest.raises(SignatureConfigError, match="Unknown placeholder"):
        generic.verify(make_request(BODY), SECRET, NOW, header="X-Sig", payload="{nonce}.{body}")


def test_timestamp_placeholder_needs_a_header() -> None:
    with pytest.raises(SignatureConfigError, match="timestamp_header"):
        generic.verify(make_request(BODY), SECRET, NOW, header="X-Sig", payload="{timestamp}.{body}")


def test_sign_round_trips() -> None:
    options = {
        "header": "X-Sig",
        "payload": "{timestamp}:{body}",
        "timestamp_header": "X-Ts",
        "prefix": "v1=",
    }
    signed = generic.sign(BODY, SECRET, NOW_TS, **options)
    assert dict(signed.headers)["X-Sig"] == "v1=" + hexmac(f"{NOW_TS}:".encode() + BODY)
    assert generic.verify(from_signed(signed), SECRET, NOW, **options).valid
