"""HubSpot: v3 (base64 HMAC-SHA256 of method + URI + body + timestamp, 5 minutes) and v1/v2 SHA-256 hashes."""

from __future__ import annotations

import re
from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    Signed,
    Verdict,
    choice_option,
    display,
    epoch,
    failed,
    missing,
    parse_timestamp,
    seconds_option,
    text_option,
    tidy,
    url_option,
    utf8,
)
from inspector.signatures.engine import HmacScheme, KeyedHashScheme, check_hmac

NAME = "hubspot"
# HubSpot's SDKs reject v3 requests whose timestamp is five minutes old or more.
TOLERANCE = 300.0
V3_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
LEGACY_HEADER = "X-HubSpot-Signature"
VERSION_HEADER = "X-HubSpot-Signature-Version"
KEY = "the app's client secret as plain text"
V3 = HmacScheme(
    provider=NAME,
    header=V3_HEADER,
    encoding="base64",
    signs=f"method + URI + body + timestamp (milliseconds, from {TIMESTAMP_HEADER})",
    key_description=KEY,
)
V2 = KeyedHashScheme(provider=NAME, header=LEGACY_HEADER, signs="method + URI + body", key_description=KEY)
V1 = KeyedHashScheme(provider=NAME, header=LEGACY_HEADER, signs="the body", key_description=KEY)
VERSIONS = ("v1", "v2", "v3")
# Every header a signature may be in: re-signing (v3) replaces the legacy ones too.
SIGNATURE_HEADERS = (V3_HEADER, TIMESTAMP_HEADER, LEGACY_HEADER, VERSION_HEADER)
# HubSpot decodes these in the URI before signing (its v3 documentation lists them).
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_ESCAPE = re.compile("|".join(_DECODED), re.IGNORECASE)
HINTS = [
    "HubSpot signs with the client secret of the app (the app's Auth settings), not a private app "
    "access token, the developer API key or the app id.",
]


def detect(request: CapturedRequest) -> bool:
    return request.header(V3_HEADER) is not None or request.header(LEGACY_HEADER) is not None


def decode_uri(uri: str) -> str:
    return _ESCAPE.sub(lambda match: _DECODED[match.group(0).upper()], uri)


def _uri_forms(uri: str) -> list[bytes]:
    return [utf8(form) for form in dict.fromkeys([decode_uri(uri), uri])]


def version_of(request: CapturedRequest) -> str:
    if request.header(V3_HEADER) is not None:
        return "v3"
    sent = (request.header(VERSION_HEADER) or "").strip().lower()
    return sent if sent in ("v1", "v2") else "v1"


def verify(
    request: CapturedRequest,
    secret: str,
    now: datetime | float,
    *,
    version: str | None = None,
    url: str | None = None,
    tolerance: float | None = None,
) -> Verdict:
    """`version` is read from the headers unless given; `url` is the URL HubSpot called (v2 and v3)."""
    chosen = choice_option("version", version, VERSIONS, version_of(request))
    allowed = seconds_option("tolerance", tolerance, TOLERANCE)
    uri = url_option(url, request)
    method = utf8(request.method)
    if chosen == "v3":
        signature = request.header(V3_HEADER)
        if signature is None:
            return missing(NAME, V3_HEADER)
        stamp = request.header(TIMESTAMP_HEADER)
        milliseconds = parse_timestamp(stamp)
        if stamp is None or milliseconds is None:
            return failed(
                NAME,
                f"The request has no usable {TIMESTAMP_HEADER} header; the timestamp is part of the "
                "signed data.",
                header=V3_HEADER,
                received=signature,
            )
        return check_hmac(
            V3,
            request=request,
            secret=secret,
            received=[signature],
            message=lambda body, candidate: [
                method + form + body + utf8(stamp) for form in _uri_forms(candidate or uri)
            ],
            url=uri,
            timestamp=tidy(milliseconds / 1000),
            now=epoch(now),
            tolerance=allowed,
            hints=HINTS,
        )
    signature = request.header(LEGACY_HEADER)
    if signature is None:
        return missing(NAME, LEGACY_HEADER)
    if chosen == "v2":
        return check_hmac(
            V2,
            request=request,
            secret=secret,
            received=[signature],
            message=lambda body, candidate: method + utf8(candidate or uri) + body,
            url=uri,
            hints=HINTS,
        )
    return check_hmac(
        V1, request=request, secret=secret, received=[signature], message=lambda body, _: body, hints=HINTS
    )


def sign(
    body: bytes,
    secret: str,
    timestamp: int,
    *,
    version: str | None = None,
    url: str | None = None,
    method: str | None = None,
) -> Signed:
    """v3 unless `version` says otherwise; v2 and v3 sign `url` (required) and `method` (POST)."""
    chosen = choice_option("version", version, VERSIONS, "v3")
    verb = utf8((text_option("method", method) or "POST").upper())
    if chosen == "v1":
        payload = body
        return Signed(
            provider=NAME,
            headers=[(LEGACY_HEADER, V1.signature(V1.key(secret), payload)), (VERSION_HEADER, "v1")],
            body=body,
            signed_payload=display(payload),
        )
    target = text_option("url", url, required=True) or ""
    if chosen == "v2":
        payload = verb + utf8(target) + body
        headers = [(LEGACY_HEADER, V2.signature(V2.key(secret), payload)), (VERSION_HEADER, "v2")]
    else:
        stamp = str(timestamp * 1000)
        payload = verb + utf8(decode_uri(target)) + body + utf8(stamp)
        headers = [(V3_HEADER, V3.signature(V3.key(secret), payload)), (TIMESTAMP_HEADER, stamp)]
    return Signed(provider=NAME, headers=headers, body=body, signed_payload=display(payload), url=target)
