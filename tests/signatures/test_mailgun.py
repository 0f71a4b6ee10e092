"""Mailgun: signed with the standard library; the mailgun SDK's verify_webhook confirms each vector."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

from mailgun.security import SecurityGuard

from inspector.signatures import mailgun

from .helpers import NOW, NOW_TS, from_signed, make_request

KEY = "key-7e55c0d3c6ce2ed3b1f6a3b6e0b7a1f2"
TOKEN = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"


def block(timestamp: int = NOW_TS, token: str = TOKEN, key: str = KEY) -> dict[str, str]:
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    assert SecurityGuard.verify_webhook(key, token, str(timestamp), signature, max_age_seconds=0)
    return {"timestamp": str(timestamp), "token": token, "signature": signature}


def json_request(signature: dict[str, str] | None = None, event: str = "delivered") -> object:
    body = json.dumps(
        {"signature": signature or block(), "event-data": {"event": event, "id": "CPgfbmQMTCKtHW6uIWtuVe"}}
    )
    return make_request(body.encode(), content_type="application/json")


def test_json_body_signature_verifies() -> None:
    verdict = mailgun.verify(json_request(), KEY, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.signed_payload == f"{NOW_TS}{TOKEN}"
    assert verdict.header == "signature object in the JSON body"


def test_form_fields_verify() -> None:
    body = urlencode({"recipient": "bob@example.com", **block()}).encode()
    request = make_request(body, content_type="application/x-www-form-urlencoded")
    assert mailgun.verify(request, KEY, NOW).valid


def test_multipart_form_fields_verify() -> None:
    fields = {"recipient": "bob@example.com", **block()}
    parts = "".join(
        f'--XyZ\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    request = make_request(f"{parts}--XyZ--\r\n".encode(), content_type="multipart/form-data; boundary=XyZ")
    verdict = mailgun.verify(request, KEY, NOW)
    assert verdict.valid, verdict.reason


def test_tampered_token_fails() -> None:
    signed = block()
    verdict = mailgun.verify(json_request({**signed, "token": "b" + TOKEN[1:]}), KEY, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason


def test_event_data_is_not_signed_and_the_verdict_says_so() -> None:
    verdict = mailgun.verify(json_request(event="failed"), KEY, NOW)
    assert verdict.valid
    assert verdict.algorithm is not None
    assert "not signed" in verdict.algorithm


def test_wrong_key_fails() -> None:
    verdict = mailgun.verify(json_request(), "key-wrong", NOW)
    assert not verdict.valid
    assert any("signing key" in hint for hint in verdict.hints)


def test_stale_timestamp_fails_naming_skew_and_tolerance() -> None:
    verdict = mailgun.verify(json_request(block(timestamp=NOW_TS - 901)), KEY, NOW)
    assert not verdict.valid
    assert (verdict.timestamp_skew, verdict.tolerance) == (901, 900)
    assert "901 s old, outside the tolerance of 900 s" in verdict.reason


def test_our_signature_passes_the_sdk_verifier() -> None:
    signed = mailgun.sign(b'{"event-data": {"event": "delivered"}}', KEY, NOW_TS, token=TOKEN)
    fields = json.loads(signed.body)["signature"]
    assert SecurityGuard.verify_webhook(
        KEY, fields["token"], fields["timestamp"], fields["signature"], max_age_seconds=0
    )
    assert mailgun.verify(from_signed(signed), KEY, NOW).valid
    form = mailgun.sign(b"recipient=bob%40example.com", KEY, NOW_TS)
    assert mailgun.verify(from_signed(form), KEY, NOW).valid
