"""Mailgun: timestamp, token and signature in the body (JSON or form), hex HMAC-SHA256 of timestamp+token."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl, urlencode

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    Signed,
    Verdict,
    display,
    epoch,
    failed,
    parse_timestamp,
    seconds_option,
    utf8,
)
from inspector.signatures.engine import HmacScheme, check_hmac

NAME = "mailgun"
# Mailgun's Python SDK rejects webhooks more than 15 minutes old by default.
TOLERANCE = 900.0
FIELDS = ("timestamp", "token", "signature")
SCHEME = HmacScheme(
    provider=NAME,
    header="signature",
    signs="timestamp followed by token (the event data itself is not signed)",
)


def _json_fields(body: bytes) -> dict[str, str] | None:
    if not body.lstrip().startswith(b"{"):
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    found = parsed.get("signature") if isinstance(parsed, dict) else None
    if not isinstance(found, dict) or not all(name in found for name in FIELDS):
        return None
    return {name: str(found[name]) for name in FIELDS}


def _form_fields(request: CapturedRequest) -> dict[str, str] | None:
    content_type = request.content_type or ""
    values: dict[str, str] = {}
    if content_type.lower().startswith("multipart/form-data"):
        # Inbound routes post multipart forms; the stdlib email parser reads them without I/O.
        message = BytesParser(policy=HTTP).parsebytes(
            utf8(f"Content-Type: {content_type}\r\n\r\n") + request.body
        )
        if message.is_multipart():
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if name in FIELDS and isinstance(payload, bytes):
                    values[str(name)] = payload.decode("utf-8", errors="replace")
    elif b"=" in request.body and not request.body.lstrip().startswith(b"{"):
        values = {
            name: value
            for name, value in parse_qsl(
                request.body.decode("utf-8", errors="replace"), keep_blank_values=True
            )
            if name in FIELDS
        }
    return values if all(name in values for name in FIELDS) else None


def fields(request: CapturedRequest) -> tuple[dict[str, str], str] | None:
    """The signature fields and where they were found, or None."""
    # Detection runs on every request view: parse a body only if it can hold every field's name.
    if not all(name.encode() in request.body for name in FIELDS):
        return None
    found = _json_fields(request.body)
    if found is not None:
        return found, "signature object in the JSON body"
    found = _form_fields(request)
    return (found, "form fields timestamp, token, signature") if found is not None else None


def detect(request: CapturedRequest) -> bool:
    return fields(request) is not None


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, tolerance: float | None = None
) -> Verdict:
    """The secret is the HTTP webhook signing key (Dashboard > Sending > Webhooks), not the API key."""
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    located = fields(request)
    if located is None:
        return failed(
            NAME,
            'The body has no Mailgun signature: no JSON "signature" object and no timestamp, token and '
            "signature form fields.",
            hints=["Was this request sent by Mailgun?"],
        )
    values, where = located
    timestamp = parse_timestamp(values["timestamp"])
    if timestamp is None:
        return failed(
            NAME, "The Mailgun timestamp is not a number.", header=where, received=values["signature"]
        )
    return check_hmac(
        SCHEME,
        request=request,
        secret=secret,
        received=[values["signature"]],
        message=lambda body, url: utf8(values["timestamp"] + values["token"]),
        timestamp=timestamp,
        now=epoch(now),
        tolerance=allowed,
        hints=[
            "Mailgun signs with the HTTP webhook signing key (Sending > Webhooks), which is not the "
            "sending API key."
        ],
        vary_body=False,
        header=where,
    )


def sign(body: bytes, secret: str, timestamp: int, *, token: str | None = None) -> Signed:
    """Adds the signature to the body: into a JSON object, or as form fields after other form fields.

    `token` defaults to 50 hex characters derived from body and timestamp, so signing stays repeatable.
    """
    if token is None:
        token = hashlib.sha256(body + str(timestamp).encode()).hexdigest()[:50]
    payload = f"{timestamp}{token}"
    signature = SCHEME.signature(SCHEME.key(secret), utf8(payload))
    block = {"timestamp": str(timestamp), "token": token, "signature": signature}
    try:
        parsed = json.loads(body) if body.strip() else {}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        parsed["signature"] = block
        signed_body = utf8(json.dumps(parsed))
        content_type = "application/json"
    else:
        signed_body = body + (b"&" if body else b"") + urlencode(block).encode()
        content_type = "application/x-www-form-urlencoded"
    return Signed(
        provider=NAME,
        headers=[("Content-Type", content_type)],
        body=signed_body,
        signed_payload=display(payload),
    )
