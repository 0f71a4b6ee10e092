"""Generic HMAC for any other sender: pick the header, hash, encoding, prefix and what is signed."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    ENCODINGS,
    HASHES,
    SignatureConfigError,
    Signed,
    Verdict,
    b64decode_lenient,
    choice_option,
    display,
    epoch,
    failed,
    hexdecode,
    missing,
    parse_timestamp,
    require_secret,
    seconds_option,
    text_key,
    text_option,
    tidy,
    url_option,
    utf8,
)
from inspector.signatures.engine import HmacScheme, check_hmac

NAME = "generic"
TOLERANCE = 300.0
SECRET_ENCODINGS = ("text", "base64", "hex")
PLACEHOLDERS = ("body", "timestamp", "url", "method", "path")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
# Above this a timestamp is taken to be in milliseconds (year 5138 in seconds).
_MILLISECONDS = 1e11

# A parsed template: literal bytes, or the name of a placeholder ("header:X-Id" for a header).
Template = list[bytes | tuple[str]]


def parse_template(template: str) -> Template:
    """Splits "{timestamp}.{body}" into literals and placeholders; {{ and }} are literal braces."""
    parts: Template = []
    last = 0
    for match in _TOKEN.finditer(template):
        parts.append(utf8(template[last : match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(utf8(token[0]))
        else:
            name = match.group(1).strip()
            if name not in PLACEHOLDERS and not (name.lower().startswith("header:") and name[7:].strip()):
                raise SignatureConfigError(
                    f"Unknown placeholder {{{name}}} in payload; use "
                    f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)} or {{header:Header-Name}}."
                )
            parts.append((name,))
        last = match.end()
    parts.append(utf8(template[last:]))
    return [part for part in parts if part != b""]


def render(template: Template, values: Callable[[str], bytes]) -> bytes:
    return b"".join(part if isinstance(part, bytes) else values(part[0]) for part in template)


def _uses(template: Template, name: str) -> bool:
    return (name,) in template


def _key(key_encoding: str) -> tuple[Callable[[str], bytes], str]:
    if key_encoding == "text":
        return text_key, "the secret as plain text (its UTF-8 bytes)"

    def decoded(secret: str) -> bytes:
        text = require_secret(secret).strip()
        key = b64decode_lenient(text.removeprefix("whsec_")) if key_encoding == "base64" else hexdecode(text)
        if not key:
            raise SignatureConfigError(f"The secret is not valid {key_encoding}, as secret_encoding says.")
        return key

    return decoded, f"the secret {key_encoding}-decoded"


def scheme(
    *,
    header: str,
    algorithm: str | None,
    encoding: str | None,
    prefix: str | None,
    payload: str,
    secret_encoding: str | None,
) -> HmacScheme:
    key, description = _key(choice_option("secret_encoding", secret_encoding, SECRET_ENCODINGS, "text"))
    return HmacScheme(
        provider=NAME,
        header=header,
        algorithm=choice_option("algorithm", algorithm, tuple(HASHES), "sha256"),
        encoding=choice_option("encoding", encoding, ENCODINGS, "hex"),
        prefix=text_option("prefix", prefix) or "",
        signs="the raw body" if payload == "{body}" else f"the template {payload!r}",
        key=key,
        key_description=description,
    )


def detect(request: CapturedRequest) -> bool:
    # Generic is chosen by hand; nothing about a request says "generic".
    return False


def _configured(
    header: str | None,
    payload: str | None,
    timestamp_header: str | None,
    algorithm: str | None,
    encoding: str | None,
    prefix: str | None,
    secret_encoding: str | None,
) -> tuple[str, Template, str | None, HmacScheme]:
    """The options verify and sign share: (header name, parsed payload template, timestamp header, scheme)."""
    name = text_option("header", header, required=True) or ""
    template_text = text_option("payload", payload) or "{body}"
    template = parse_template(template_text)
    stamp_header = text_option("timestamp_header", timestamp_header)
    if _uses(template, "timestamp") and stamp_header is None:
        raise SignatureConfigError(
            "The payload uses {timestamp}: say which header holds it with timestamp_header."
        )
    hmac_scheme = scheme(
        header=name,
        algorithm=algorithm,
        encoding=encoding,
        prefix=prefix,
        payload=template_text,
        secret_encoding=secret_encoding,
    )
    return name, template, stamp_header, hmac_scheme


def verify(
    request: CapturedRequest,
    secret: str,
    now: datetime | float,
    *,
    header: str | None = None,
    algorithm: str | None = None,
    encoding: str | None = None,
    prefix: str | None = None,
    payload: str | None = None,
    timestamp_header: str | None = None,
    tolerance: float | None = None,
    secret_encoding: str | None = None,
    url: str | None = None,
) -> Verdict:
    """Options: header (required); algorithm sha1|sha256|sha512; encoding hex|base64; prefix like "sha256=";
    payload, a template over {body} {timestamp} {url} {method} {path} {header:Name} (default "{body}");
    timestamp_header, where {timestamp} comes from (seconds, or milliseconds); tolerance in seconds
    (default 300 with a timestamp_header); secret_encoding text|base64|hex; url, the public URL for {url}.
    """
    name, template, stamp_header, hmac_scheme = _configured(
        header, payload, timestamp_header, algorithm, encoding, prefix, secret_encoding
    )
    allowed = seconds_option("tolerance", tolerance, TOLERANCE if stamp_header else None)
    full_url = url_option(url, request)
    value = request.header(name)
    if value is None:
        return missing(NAME, name)
    stamp = request.header(stamp_header) if stamp_header else None
    timestamp = parse_timestamp(stamp)
    if stamp_header and timestamp is None:
        return failed(NAME, f"The request has no numeric {stamp_header} header.", header=name, received=value)
    if timestamp is not None and timestamp > _MILLISECONDS:
        timestamp = tidy(timestamp / 1000)

    def message(body: bytes, candidate_url: str | None) -> bytes:
        def values(placeholder: str) -> bytes:
            if placeholder.lower().startswith("header:"):
                return utf8(request.header(placeholder[7:].strip()) or "")
            return {
                "body": body,
                "timestamp": utf8(stamp or ""),
                "url": utf8(candidate_url or full_url),
                "method": utf8(request.method),
                "path": utf8(urlsplit(candidate_url or full_url).path),
            }[placeholder]

        return render(template, values)

    return check_hmac(
        hmac_scheme,
        request=request,
        secret=secret,
        received=[value],
        message=message,
        url=full_url if _uses(template, "url") else None,
        timestamp=timestamp,
        now=epoch(now),
        tolerance=allowed,
        vary_body=_uses(template, "body"),
    )


def sign(
    body: bytes,
    secret: str,
    timestamp: int,
    *,
    header: str | None = None,
    algorithm: str | None = None,
    encoding: str | None = None,
    prefix: str | None = None,
    payload: str | None = None,
    timestamp_header: str | None = None,
    secret_encoding: str | None = None,
    url: str | None = None,
    method: str | None = None,
) -> Signed:
    """The same options as verify, plus method (default POST) for {method}; {url} needs url."""
    name, template, stamp_header, hmac_scheme = _configured(
        header, payload, timestamp_header, algorithm, encoding, prefix, secret_encoding
    )
    target = text_option("url", url, required=_uses(template, "url") or _uses(template, "path"))

    def values(placeholder: str) -> bytes:
        if placeholder.lower().startswith("header:"):
            raise SignatureConfigError(
                "Cannot sign a payload that uses another header's value ({header:...})."
            )
        return {
            "body": body,
            "timestamp": str(timestamp).encode(),
            "url": utf8(target or ""),
            "method": utf8(text_option("method", method) or "POST"),
            "path": utf8(urlsplit(target or "").path),
        }[placeholder]

    signed = render(template, values)
    headers = [(name, hmac_scheme.signature(hmac_scheme.key(secret), signed))]
    if stamp_header:
        headers.append((stamp_header, str(timestamp)))
    return Signed(provider=NAME, headers=headers, body=body, signed_payload=display(signed), url=target)
