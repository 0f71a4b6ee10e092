"""HubSpot: requests signed with HubSpot's own Python SDK (hubspot.utils.signature.Signature), v1 to v3."""

from __future__ import annotations

import time

import pytest
from hubspot.utils.signature import Signature

from inspector.signatures import SignatureConfigError, detect, hubspot, replaced_headers, verify

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
BODY = (
    b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"propertyValue":"x"}]'
)
URL = "https://inspector.example/b/abc123?state=a%3Ab"


def v3_request(body: bytes = BODY, *, at_ms: int = NOW_TS * 1000, secret: str = SECRET) -> object:
    signature = Signature.get_signature(
        secret, body.decode(), "v3", http_uri=URL.replace("%3A", ":"), timestamp=str(at_ms)
    )
    return make_request(
        body,
        [("X-HubSpot-Signature-v3", signature), ("X-HubSpot-Request-Timestamp", str(at_ms))],
        url=URL,
        content_type="application/json",
    )


def legacy_request(version: str, body: bytes = BODY) -> object:
    signature = Signature.get_signature(SECRET, body.decode(), version, http_uri=URL)
    headers = [("X-HubSpot-Signature", signature), ("X-HubSpot-Signature-Version", version)]
    return make_request(body, headers, url=URL, content_type="application/json")


def test_sdk_v3_signature_verifies_with_the_decoded_uri() -> None:
    verdict = hubspot.verify(v3_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.header == "X-HubSpot-Signature-v3"
    # HubSpot decodes %3A and friends in the URI before signing.
    assert verdict.signed_payload == f"POST{URL.replace('%3A', ':')}{BODY.decode()}{NOW_TS * 1000}"
    assert verdict.tolerance == 300


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_sdk_legacy_signatures_verify(version: str) -> None:
    verdict = hubspot.verify(legacy_request(version), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert "SHA256 of the secret followed by" in (verdict.algorithm or "")


@pytest.mark.parametrize(
    "request_of", [v3_request, lambda: legacy_request("v1"), lambda: legacy_request("v2")]
)
def test_tampered_body_fails(request_of: object) -> None:
    request = request_of()
    verdict = hubspot.verify(make_request(tamper(BODY), request.headers, url=URL), SECRET, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_secret_fails() -> None:
    verdict = hubspot.verify(v3_request(), "pat-na1-11111111", NOW)
    assert not verdict.valid
    assert any("client secret" in hint for hint in verdict.hints)
    legacy = hubspot.verify(legacy_request("v1"), "pat-na1-11111111", NOW)
    assert not legacy.valid
    assert "hash of this secret" in legacy.reason


def test_stale_v3_timestamp_fails() -> None:
    verdict = hubspot.verify(v3_request(at_ms=(NOW_TS - 301) * 1000), SECRET, NOW)
    assert not verdict.valid
    assert verdict.timestamp_skew == 301
    assert "signature is correct" in verdict.reason


def test_url_behind_a_proxy_is_diagnosed() -> None:
    request = v3_request()
    proxied = make_request(request.body, request.headers, url=URL.replace("https://", "http://"))
    verdict = hubspot.verify(proxied, SECRET, NOW)
    assert not verdict.valid
    assert any("url option" in hint for hint in verdict.hints)
    assert hubspot.verify(proxied, SECRET, NOW, url=URL).valid


def test_auto_detection() -> None:
    assert detect(v3_request()) == "hubspot"
    assert detect(legacy_request("v2")) == "hubspot"
    assert verify("auto", v3_request(), SECRET, NOW).valid


def test_bad_version_is_a_config_error() -> None:
    with pytest.raises(SignatureConfigError, match="version"):
        hubspot.verify(v3_request(), SECRET, NOW, version="v4")


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_our_signatures_pass_the_sdk(version: str) -> None:
    # The SDK checks v3 timestamps against the real clock.
    now = int(time.time())
    signed = hubspot.sign(BODY, SECRET, now, version=version, url=URL)
    headers = dict(signed.headers)
    header = "X-HubSpot-Signature-v3" if version == "v3" else "X-HubSpot-Signature"
    assert Signature.is_valid(
        headers[header],
        SECRET,
        BODY.decode(),
        http_uri=URL.replace("%3A", ":") if version == "v3" else URL,
        signature_version=version,
        timestamp=headers.get("X-HubSpot-Request-Timestamp"),
    )
    assert hubspot.verify(from_signed(signed), SECRET, now).valid


def test_re_signing_replaces_the_legacy_headers_too() -> None:
    signed = hubspot.sign(BODY, SECRET, NOW_TS, url=URL)
    assert set(replaced_headers("hubspot", signed.headers)) >= {
        "x-hubspot-signature-v3",
        "x-hubspot-request-timestamp",
        "x-hubspot-signature",
        "x-hubspot-signature-version",
    }
