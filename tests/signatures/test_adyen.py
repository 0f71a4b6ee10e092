"""Adyen: notifications signed with Adyen's own Python library (Adyen.util.generate_notification_sig)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json

import pytest
from Adyen.util import generate_notification_sig, is_valid_hmac_notification

from inspector.signatures import SignatureConfigError, adyen, detect, verify

from .helpers import NOW, NOW_TS, from_signed, make_request

KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
ITEM = {
    "additionalData": {"authCode": "58747"},
    "amount": {"currency": "EUR", "value": 1130},
    "eventCode": "AUTHORISATION",
    "eventDate": "2026-05-01T12:00:00+02:00",
    "merchantAccountCode": "TestMerchant",
    "merchantReference": "order-2026-0001",
    "paymentMethod": "visa",
    "pspReference": "7914073381342284",
    "success": "true",
}


def signed_item(item: dict = ITEM, key: str = KEY) -> dict:
    item = copy.deepcopy(item)
    item["additionalData"]["hmacSignature"] = generate_notification_sig(item, key).decode()
    return item


def notification(*items: dict) -> bytes:
    entries = [{"NotificationRequestItem": item} for item in items or (signed_item(),)]
    return json.dumps({"live": "false", "notificationItems": entries}).encode()


def adyen_request(body: bytes | None = None) -> object:
    return make_request(body or notification(), content_type="application/json")


def test_sdk_signed_notification_verifies() -> None:
    verdict = adyen.verify(adyen_request(), KEY, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.header == "additionalData.hmacSignature"
    assert (
        verdict.signed_payload == "7914073381342284::TestMerchant:order-2026-0001:1130:EUR:AUTHORISATION:true"
    )


def test_tampered_amount_fails() -> None:
    item = signed_item()
    item["amount"]["value"] = 1
    verdict = adyen.verify(adyen_request(notification(item)), KEY, NOW)
    assert not verdict.valid
    assert "does not match" in verdict.reason
    assert ":1:EUR:" in (verdict.signed_payload or "")


def test_wrong_key_fails() -> None:
    verdict = adyen.verify(adyen_request(), "AB" * 32, NOW)
    assert not verdict.valid
    assert any("HMAC key generated for this webhook" in hint for hint in verdict.hints)


def test_key_used_as_text_is_diagnosed() -> None:
    # A sender that forgot to hex-decode the key signs with its text.
    item = copy.deepcopy(ITEM)
    payload = adyen.signing_string(item)
    item["additionalData"]["hmacSignature"] = base64.b64encode(
        hmac.new(KEY.encode(), payload, hashlib.sha256).digest()
    ).decode()
    verdict = adyen.verify(adyen_request(notification(item)), KEY, NOW)
    assert not verdict.valid
    assert any("plain text" in hint for hint in verdict.hints)


def test_every_item_must_be_valid() -> None:
    second = signed_item({**ITEM, "pspReference": "8815"})
    second["success"] = "false"
    verdict = adyen.verify(adyen_request(notification(signed_item(), second)), KEY, NOW)
    assert not verdict.valid
    assert verdict.reason.startswith("Item 2 of 2")
    assert adyen.verify(
        adyen_request(notification(signed_item(), signed_item({**ITEM, "pspReference": "8815"}))), KEY, NOW
    ).valid


def test_key_that_is_not_hex_is_a_config_error() -> None:
    with pytest.raises(SignatureConfigError, match="hex"):
        adyen.verify(adyen_request(), "not-hex-at-all", NOW)


def test_auto_detection() -> None:
    assert detect(adyen_request()) == "adyen"
    assert verify("auto", adyen_request(), KEY, NOW).valid


def test_our_signatures_pass_the_sdk() -> None:
    unsigned = {"live": "false", "notificationItems": [{"NotificationRequestItem": copy.deepcopy(ITEM)}]}
    signed = adyen.sign(json.dumps(unsigned).encode(), KEY, NOW_TS)
    item = json.loads(signed.body)["notificationItems"][0]["NotificationRequestItem"]
    assert is_valid_hmac_notification(item, KEY)
    assert adyen.verify(from_signed(signed), KEY, NOW).valid
