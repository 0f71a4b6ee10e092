"""Adyen: additionalData.hmacSignature in each notification item, base64 HMAC-SHA256, hex-decoded key."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import msgspec

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    SignatureConfigError,
    Signed,
    Verdict,
    failed,
    hexdecode,
    require_secret,
    utf8,
)
from inspector.signatures.engine import HmacScheme, check_hmac

NAME = "adyen"
FIELD = "additionalData.hmacSignature"
# The order Adyen joins the item's fields in, with ":" between them.
FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)


def hmac_key(secret: str) -> bytes:
    key = hexdecode(require_secret(secret, "HMAC key"))
    if not key:
        raise SignatureConfigError(
            "Adyen's HMAC key is hexadecimal (64 characters, from Customer Area > Developers > Webhooks > "
            "HMAC key); this value is not hex."
        )
    return key


SCHEME = HmacScheme(
    provider=NAME,
    header=FIELD,
    encoding="base64",
    signs=":".join(FIELDS) + " of the notification item (amount.value and amount.currency for value and "
    "currency)",
    key=hmac_key,
    key_description="the HMAC key hex-decoded",
)
HINTS = [
    "Adyen signs with the HMAC key generated for this webhook (Customer Area > Developers > Webhooks > "
    "edit > HMAC key); each webhook, and test and live, has its own.",
    "Only the fields in the signed string count: an item whose pspReference, amount, eventCode or success "
    "was edited after signing no longer matches.",
]


def _text(value: object) -> str:
    # As Adyen's libraries write them: JSON booleans as true/false, null and absent fields as "".
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def signing_string(item: dict[str, Any]) -> bytes:
    amount = item.get("amount") if isinstance(item.get("amount"), dict) else {}
    values = {**item, "value": amount.get("value"), "currency": amount.get("currency")}
    return utf8(":".join(_text(values.get(name)) for name in FIELDS))


def items(body: bytes) -> list[dict[str, Any]] | None:
    """The NotificationRequestItem objects of a notification (or a lone item); None if there are none."""
    if b"NotificationRequestItem" not in body and b"hmacSignature" not in body:
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict):
        return None
    if isinstance(parsed.get("notificationItems"), list):
        found = [
            entry.get("NotificationRequestItem")
            for entry in parsed["notificationItems"]
            if isinstance(entry, dict)
        ]
        found = [item for item in found if isinstance(item, dict)]
        return found or None
    single = parsed.get("NotificationRequestItem", parsed)
    return [single] if isinstance(single, dict) and "pspReference" in single else None


def _signature(item: dict[str, Any]) -> str | None:
    extra = item.get("additionalData")
    found = extra.get("hmacSignature") if isinstance(extra, dict) else None
    return found if isinstance(found, str) else None


def detect(request: CapturedRequest) -> bool:
    if b"hmacSignature" not in request.body:
        return False
    found = items(request.body)
    return found is not None and any(_signature(item) is not None for item in found)


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    """Every item carries its own signature; the request is valid when all of them are."""
    hmac_key(secret)
    found = items(request.body)
    if found is None:
        return failed(
            NAME,
            "The body is not an Adyen notification: no notificationItems with a NotificationRequestItem.",
            hints=["Was this request sent by Adyen? Standard webhooks are JSON notifications."],
        )
    verdicts: list[Verdict] = []
    for index, item in enumerate(found, start=1):
        where = f"item {index} of {len(found)}" if len(found) > 1 else "the notification item"
        signature = _signature(item)
        if signature is None:
            return failed(
                NAME,
                f"{where[0].upper()}{where[1:]} has no {FIELD}, so there is no signature to check.",
                header=FIELD,
                hints=["Turn on HMAC signing for this webhook in the Customer Area and save the key."],
            )
        payload = signing_string(item)
        verdict = check_hmac(
            SCHEME,
            request=request,
            secret=secret,
            received=[signature],
            message=lambda body, url, payload=payload: payload,
            hints=HINTS,
            # The raw bytes are not signed, only the item's fields: body variants prove nothing.
            vary_body=False,
        )
        if len(found) > 1:
            verdict = msgspec.structs.replace(
                verdict, reason=f"{where[0].upper()}{where[1:]}: {verdict.reason}"
            )
        if not verdict.valid:
            return verdict
        verdicts.append(verdict)
    return verdicts[-1]


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    """Signs every item of a notification; any other JSON object is taken as one item and wrapped."""
    key = hmac_key(secret)
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict):
        raise SignatureConfigError("Adyen signs JSON notifications: give a JSON object as the body.")
    if not isinstance(parsed.get("notificationItems"), list):
        parsed = {"live": "false", "notificationItems": [{"NotificationRequestItem": parsed}]}
    payloads: list[str] = []
    for entry in parsed["notificationItems"]:
        item = entry.get("NotificationRequestItem") if isinstance(entry, dict) else None
        if not isinstance(item, dict):
            raise SignatureConfigError(
                "Each of notificationItems must hold a NotificationRequestItem object."
            )
        payload = signing_string(item)
        extra = item.get("additionalData") if isinstance(item.get("additionalData"), dict) else {}
        item["additionalData"] = {**extra, "hmacSignature": SCHEME.signature(key, payload)}
        payloads.append(payload.decode("utf-8", errors="backslashreplace"))
    signed = utf8(json.dumps(parsed, separators=(",", ":"), ensure_ascii=False))
    return Signed(
        provider=NAME,
        headers=[("Content-Type", "application/json")],
        body=signed,
        signed_payload="\n".join(payloads),
    )
