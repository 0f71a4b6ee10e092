"""Twilio: X-Twilio-Signature, base64 HMAC-SHA1 of the full URL plus sorted form parameters or bodySHA256."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from urllib.parse import SplitResult, parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    Signed,
    Verdict,
    display,
    missing,
    same,
    text_option,
    url_option,
    utf8,
)
from inspector.signatures.diagnose import body_hints
from inspector.signatures.engine import HmacScheme, check_hmac

NAME = "twilio"
HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
FORM = "application/x-www-form-urlencoded"
SIGNS = "the full URL followed by each form parameter name and value, sorted by name"
SHA1 = HmacScheme(provider=NAME, header=HEADER, algorithm="sha1", encoding="base64", signs=SIGNS)
# Requests signed with a SharedKey may name HMAC_SHA256 in X-Twilio-Webhooks-Signature-Settings.
SHA256 = HmacScheme(provider=NAME, header=HEADER, algorithm="sha256", encoding="base64", signs=SIGNS)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def detect(request: CapturedRequest) -> bool:
    return request.header("x-twilio-signature") is not None


def _algorithm(request: CapturedRequest) -> str:
    for part in (request.header(SETTINGS_HEADER) or "").split(","):
        name, _, value = part.partition("=")
        if name.strip() == "algorithm" and value.strip().upper() == "HMAC_SHA256":
            return "sha256"
    return "sha1"


def form_parameters(body: bytes) -> bytes:
    """Names and values concatenated in Twilio's order: names sorted, each name's values sorted."""
    text = body.decode("utf-8", errors="surrogateescape")
    values: dict[str, set[str]] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, errors="surrogateescape"):
        values.setdefault(name, set()).add(value)
    return b"".join(utf8(name) + utf8(value) for name in sorted(values) for value in sorted(values[name]))


def _port_forms(url: str) -> list[str]:
    """The URL as given, then without and with its default port: Twilio signs either."""
    parts: SplitResult = urlsplit(url)
    forms = [url]
    if parts.hostname and parts.scheme in _DEFAULT_PORTS:
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        for netloc in (host, f"{host}:{port}"):
            forms.append(urlunsplit(parts._replace(netloc=netloc)))
    return list(dict.fromkeys(forms))


def _body_hash(url: str) -> str | None:
    found = parse_qs(urlsplit(url).query).get("bodySHA256")
    return found[0] if found else None


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, url: str | None = None
) -> Verdict:
    """`url` is the public URL Twilio posted to, when Inspector sits behind a proxy or tunnel."""
    signature = request.header(HEADER)
    if signature is None:
        return missing(NAME, HEADER)
    full_url = url_option(url, request)
    body_hash = _body_hash(full_url)
    # Only form posts sign their parameters; JSON bodies are covered by bodySHA256 in the URL instead.
    is_form = (request.content_type or "").lower().startswith(FORM) and body_hash is None

    def message(body: bytes, candidate: str | None) -> list[bytes]:
        params = form_parameters(body) if is_form else b""
        return [utf8(form) + params for form in _port_forms(candidate or full_url)]

    verdict = check_hmac(
        SHA256 if _algorithm(request) == "sha256" else SHA1,
        request=request,
        secret=secret,
        received=[signature],
        message=message,
        url=full_url,
        vary_body=is_form,
        hints=[
            "Twilio signs with the account's Auth Token (the primary one, not a secondary or an API key "
            "secret), unless the request names a SharedKey in X-Twilio-Webhooks-Signature-Settings."
        ],
    )
    if body_hash is None or not verdict.valid:
        return verdict
    # The signature covers the URL, so bodySHA256 is trustworthy; the body must still hash to it.
    actual = hashlib.sha256(request.body).hexdigest()
    if same(actual, body_hash):
        return msgspec.structs.replace(
            verdict, reason=verdict.reason[:-1] + ", and the body hashes to bodySHA256 in the URL."
        )
    hints = body_hints(lambda variant: same(hashlib.sha256(variant).hexdigest(), body_hash), request.body)
    return msgspec.structs.replace(
        verdict,
        valid=False,
        reason=f"The signature of the URL is correct, but the body's SHA-256 ({actual}) differs from "
        f"bodySHA256 in the URL ({body_hash}): the body changed after signing.",
        hints=hints or ["The body was changed after Twilio signed the request."],
    )


def sign(body: bytes, secret: str, timestamp: int, *, url: str | None = None) -> Signed:
    """A JSON body is signed the way Twilio does it: its SHA-256 goes into the URL as bodySHA256."""
    url = text_option("url", url, required=True) or ""
    try:
        json.loads(body)
    except ValueError:
        content_type = FORM
        payload = utf8(url) + form_parameters(body)
    else:
        content_type = "application/json"
        parts = urlsplit(url)
        query = "&".join(
            filter(None, [parts.query, urlencode({"bodySHA256": hashlib.sha256(body).hexdigest()})])
        )
        url = urlunsplit(parts._replace(query=query))
        payload = utf8(url)
    return Signed(
        provider=NAME,
        headers=[(HEADER, SHA1.signature(SHA1.key(secret), payload)), ("Content-Type", content_type)],
        body=body,
        signed_payload=display(payload),
        url=url,
    )
