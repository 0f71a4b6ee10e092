"""Twilio: signatures come from the twilio SDK's RequestValidator, which also checks our sign()."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

from inspector.signatures import twilio

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

TOKEN = "12345678901234567890123456789012"
URL = "https://mycompany.example/b/abc123/sms?kind=inbound"
PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234", "From": "+12349013030"}
FORM = urlencode(PARAMS).encode()
JSON_BODY = b'{"property": "value", "boolean": true}'


def form_request(body: bytes = FORM, *, url: str = URL, signed_url: str = URL, token: str = TOKEN) -> object:
    signature = RequestValidator(token).compute_signature(signed_url, dict(parse_qsl(FORM.decode())))
    return make_request(
        body, [("X-Twilio-Signature", signature)], url=url, content_type="application/x-www-form-urlencoded"
    )


def json_request(body: bytes = JSON_BODY) -> object:
    validator = RequestValidator(TOKEN)
    url = f"{URL}&bodySHA256={validator.compute_hash(JSON_BODY.decode())}"
    signature = validator.compute_signature(url, {})
    return make_request(body, [("X-Twilio-Signature", signature)], url=url, content_type="application/json")


def test_sdk_signed_form_request_verifies() -> None:
    verdict = twilio.verify(form_request(), TOKEN, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.url == URL
    assert (
        verdict.signed_payload == URL + "CallSidCA1234567890ABCDECaller+12349013030Digits1234From+12349013030"
    )


def test_tampered_form_body_fails() -> None:
    verdict = twilio.verify(form_request(tamper(FORM)), TOKEN, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_wrong_token_fails() -> None:
    verdict = twilio.verify(form_request(), "00000000000000000000000000000000", NOW)
    assert not verdict.valid
    assert any("Auth Token" in hint for hint in verdict.hints)


def test_sdk_signed_json_request_verifies_via_body_sha256() -> None:
    verdict = twilio.verify(json_request(), TOKEN, NOW)
    assert verdict.valid, verdict.reason
    assert "bodySHA256" in verdict.reason


def test_tampered_json_body_fails_on_body_sha256() -> None:
    verdict = twilio.verify(json_request(tamper(JSON_BODY)), TOKEN, NOW)
    assert not verdict.valid
    assert "bodySHA256" in verdict.reason


def test_signature_made_with_the_default_port_verifies() -> None:
    signed_url = URL.replace("mycompany.example", "mycompany.example:443")
    assert twilio.verify(form_request(signed_url=signed_url), TOKEN, NOW).valid


def test_behind_a_proxy_the_public_url_option_fixes_it() -> None:
    request = form_request(url="http://127.0.0.1:8080/b/abc123/sms?kind=inbound")
    verdict = twilio.verify(request, TOKEN, NOW)
    assert not verdict.valid
    assert any("url option" in hint for hint in verdict.hints)
    assert twilio.verify(request, TOKEN, NOW, url=URL).valid


def test_hmac_sha256_shared_key_setting_is_honoured() -> None:
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS, algorithm="HMAC_SHA256")
    headers = [
        ("X-Twilio-Signature", signature),
        ("X-Twilio-Webhooks-Signature-Settings", "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"),
    ]
    request = make_request(FORM, headers, url=URL, content_type="application/x-www-form-urlencoded")
    verdict = twilio.verify(request, TOKEN, NOW)
    assert verdict.valid, verdict.reason


def test_our_form_signature_passes_the_sdk_validator() -> None:
    signed = twilio.sign(FORM, TOKEN, NOW_TS, url=URL)
    signature = dict(signed.headers)["X-Twilio-Signature"]
    assert RequestValidator(TOKEN).validate(URL, PARAMS, signature)
    assert twilio.verify(from_signed(signed), TOKEN, NOW).valid


def test_our_json_signature_passes_the_sdk_validator() -> None:
    signed = twilio.sign(JSON_BODY, TOKEN, NOW_TS, url=URL)
    assert signed.url is not None
    assert "bodySHA256=" in signed.url
    signature = dict(signed.headers)["X-Twilio-Signature"]
    assert RequestValidator(TOKEN).validate(signed.url, JSON_BODY.decode(), signature)
    assert twilio.verify(from_signed(signed), TOKEN, NOW).valid
