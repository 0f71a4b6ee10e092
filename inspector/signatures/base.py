"""Shared types and helpers for checking webhook signatures: verdicts, errors, HMAC, encodings and time."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec

from inspector.models import CapturedRequest

HASHES: dict[str, Callable[..., Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}
# Lets a diagnosis recognise "right idea, wrong hash" from the length of what was received.
DIGEST_SIZES: dict[int, str] = {20: "sha1", 32: "sha256", 64: "sha512"}
ENCODINGS = ("hex", "base64")


class SignatureConfigError(ValueError):
    """The secret or an option cannot be used as given; the message says why in plain words."""


class UnknownProviderError(SignatureConfigError):
    """No provider of that name is registered."""


class ProviderNotDetectedError(SignatureConfigError):
    """The provider was "auto" and no known signature header was found on the request."""


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one signature check, with everything needed to see why it failed."""

    valid: bool
    provider: str
    # Plain words: why it failed, or a short confirmation of what matched.
    reason: str
    # The request header the signature was read from (or the body field, for Mailgun).
    header: str | None = None
    # How the signature is made, e.g. "HMAC-SHA256, hex, prefix sha256=".
    algorithm: str | None = None
    # The exact data that was signed, decoded for display (undecodable bytes as \xNN escapes).
    signed_payload: str | None = None
    expected: str | None = None
    received: str | None = None
    # The URL that was part of the signed data (Twilio, Square), as used for the check.
    url: str | None = None
    # Unix seconds the sender stamped the request with, for timestamped schemes.
    timestamp: float | None = None
    # now - timestamp in seconds: positive when the request is older than `now`.
    timestamp_skew: float | None = None
    tolerance: float | None = None
    # Likely causes of a failure, most specific first.
    hints: list[str] = []


class Signed(msgspec.Struct, frozen=True, kw_only=True):
    """A freshly signed test request: send `body` with `headers` (to `url` when set)."""

    provider: str
    headers: list[tuple[str, str]]
    body: bytes
    signed_payload: str
    # Set when the URL itself carries part of the scheme (Twilio's bodySHA256) or is signed.
    url: str | None = None
    # For public-key schemes: the key a receiver verifies with, to paste into the verify form.
    verify_secret: str | None = None


class Provider(Protocol):
    """What every provider module exposes; the registry holds these modules."""

    NAME: str

    def detect(self, request: CapturedRequest) -> bool: ...

    def verify(
        self, request: CapturedRequest, secret: str, now: datetime | float, **options: Any
    ) -> Verdict: ...

    def sign(self, body: bytes, secret: str, timestamp: int, **options: Any) -> Signed: ...


# --- bytes, text and encodings -------------------------------------------------------------


def display(data: bytes | str) -> str:
    """Bytes as text for showing, never failing: invalid UTF-8 shows as \\xNN escapes."""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="backslashreplace")


def utf8(text: str) -> bytes:
    # surrogateescape round-trips anything display() or a lenient decode produced.
    return text.encode("utf-8", errors="surrogateescape")


def hmac_digest(key: bytes, message: bytes, algorithm: str) -> bytes:
    return hmac.new(key, message, HASHES[algorithm]).digest()


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time equality; str is compared as UTF-8 since compare_digest only takes ASCII str."""
    left = utf8(a) if isinstance(a, str) else a
    right = utf8(b) if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def encode_digest(digest: bytes, encoding: str) -> str:
    if encoding == "hex":
        return digest.hex()
    return base64.b64encode(digest).decode("ascii")


def b64decode_lenient(text: str) -> bytes | None:
    """Standard or URL-safe base64, padding optional; None when it is not base64 at all."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        return None


def hexdecode(text: str) -> bytes | None:
    try:
        return bytes.fromhex(text.strip())
    except ValueError:
        return None


def decode_signature(text: str, encoding: str) -> bytes | None:
    return hexdecode(text) if encoding == "hex" else b64decode_lenient(text)


def require_secret(secret: str, what: str = "secret") -> str:
    if not isinstance(secret, str) or not secret.strip():
        raise SignatureConfigError(f"The {what} is empty: paste the {what} the sender signs with.")
    return secret


def text_key(secret: str) -> bytes:
    """The usual key: the secret exactly as typed, as UTF-8 bytes."""
    return utf8(require_secret(secret))


def parse_pairs(value: str, separator: str) -> list[tuple[str, str]]:
    """Splits "t=1,v1=ab,v1=cd" style headers into pairs, keeping repeats and their order."""
    pairs: list[tuple[str, str]] = []
    for part in value.split(separator):
        key, eq, item = part.strip().partition("=")
        if eq:
            pairs.append((key.strip(), item.strip()))
    return pairs


def stamped_signatures(
    provider: str,
    header: str,
    value: str,
    *,
    separator: str,
    stamp: str,
    signature: str,
    no_signature_hints: list[str] | None = None,
) -> tuple[str, float, list[str]] | Verdict:
    """A "t=…,v1=…" style header read: its timestamp as sent and as seconds, and every signature in
    it (several while a secret is rolled); or the verdict that says which part is missing."""
    pairs = parse_pairs(value, separator)
    sent = next((item for key, item in pairs if key == stamp), None)
    timestamp = parse_timestamp(sent)
    if sent is None or timestamp is None:
        return failed(provider, f"{header} has no usable {stamp}= timestamp.", header=header, received=value)
    signatures = [item for key, item in pairs if key == signature]
    if not signatures:
        return failed(
            provider,
            f"{header} has no {signature}= signature.",
            header=header,
            received=value,
            hints=no_signature_hints,
        )
    return sent, timestamp, signatures


# --- time ------------------------------------------------------------------------------------


def epoch(now: datetime | float) -> float:
    """Unix seconds; a naive datetime is taken as UTC."""
    if isinstance(now, datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        return now.timestamp()
    return float(now)


def parse_timestamp(value: str | float | None) -> float | None:
    """Unix seconds from a header or field; None when absent or not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return tidy(number)


_ISO_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def parse_iso_timestamp(value: str | None) -> float | None:
    """Unix seconds from an RFC 3339 time such as 2019-11-16T10:11:12.634234626Z; None if unparsable.

    Fractions beyond microseconds (Twitch sends nanoseconds) are cut, since datetime cannot hold them.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = _ISO_FRACTION.sub(lambda match: match.group(1), value.strip(), count=1)
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return tidy(round(parsed.timestamp(), 6))


def tidy(number: float) -> float:
    """Whole numbers as int, so a verdict shows 1700000000 rather than 1700000000.0."""
    return int(number) if float(number).is_integer() else number


def skew_of(timestamp: float, now: float) -> float:
    # Rounded so a verdict reads "301.0 s" rather than float noise.
    return tidy(round(now - timestamp, 3))


def is_fresh(skew: float, tolerance: float | None) -> bool:
    return tolerance is None or abs(skew) <= tolerance


def skew_phrase(skew: float, tolerance: float | None) -> str:
    """E.g. "400 s old, outside the tolerance of 300 s"."""
    when = f"{abs(skew):g} s old" if skew >= 0 else f"{abs(skew):g} s in the future"
    if tolerance is None:
        return f"{when} (no freshness check)"
    side = "within" if is_fresh(skew, tolerance) else "outside"
    return f"{when}, {side} the tolerance of {tolerance:g} s"


def stale_hints(skew: float) -> list[str]:
    if skew >= 0:
        return [
            "An old captured request fails this check by design (replay protection): check it "
            "against the time it arrived, or pass tolerance=0 to skip the freshness check.",
            "If the request is new, the sender's clock or this machine's clock is wrong.",
        ]
    return ["The timestamp is ahead of this clock: the sender's clock or this machine's clock is wrong."]


# --- options -------------------------------------------------------------------------------


def seconds_option(name: str, value: object, default: float | None) -> float | None:
    """A tolerance in seconds: None keeps the provider's default, 0 turns the check off."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SignatureConfigError(f"Option {name} must be a number of seconds, not {value!r}.")
    try:
        seconds = float(value)
    except ValueError:
        raise SignatureConfigError(f"Option {name} must be a number of seconds, not {value!r}.") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise SignatureConfigError(f"Option {name} must be zero or a positive number of seconds.")
    return None if seconds == 0 else seconds


def text_option(name: str, value: object, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise SignatureConfigError(f"Option {name} is required.")
        return None
    if not isinstance(value, str):
        raise SignatureConfigError(f"Option {name} must be text, not {value!r}.")
    return value


def choice_option(name: str, value: object, choices: tuple[str, ...], default: str) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value.lower() not in choices:
        raise SignatureConfigError(f"Option {name} must be one of {', '.join(choices)}, not {value!r}.")
    return value.lower()


def url_option(value: object, request: CapturedRequest) -> str:
    """The URL the sender signed: the `url` option when given (the public URL behind a proxy)."""
    url = text_option("url", value)
    return url if url is not None else request.url


# --- verdicts --------------------------------------------------------------------------------


def missing(provider: str, header: str, *, hint: str | None = None) -> Verdict:
    hints = [hint] if hint else []
    return Verdict(
        valid=False,
        provider=provider,
        reason=f"The request has no {header} header, so there is no signature to check.",
        header=header,
        hints=[*hints, "Was this request sent by that provider, with signing turned on?"],
    )


def failed(provider: str, reason: str, *, hints: list[str] | None = None, **fields: Any) -> Verdict:
    """A verdict for a request that cannot be checked as sent (header missing or malformed)."""
    return Verdict(valid=False, provider=provider, reason=reason, hints=hints or [], **fields)
