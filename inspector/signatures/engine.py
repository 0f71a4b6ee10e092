"""Checks one signature end to end: compute or verify, compare, check the timestamp, diagnose a failure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    HASHES,
    Signed,
    Verdict,
    display,
    encode_digest,
    epoch,
    failed,
    hmac_digest,
    is_fresh,
    missing,
    parse_timestamp,
    same,
    skew_of,
    skew_phrase,
    stale_hints,
    text_key,
)
from inspector.signatures.diagnose import advice, diagnose

# (body, url) -> the bytes that were signed; several when the provider accepts more than one
# form (Twilio signs the URL with or without its port).
Message = Callable[[bytes, str | None], "bytes | list[bytes]"]


@dataclass(frozen=True, kw_only=True)
class HmacScheme:
    """How one provider makes its HMAC signature."""

    provider: str
    header: str
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""
    # What the signed data is, in words, for the verdict's algorithm line.
    signs: str = "the raw body"
    key: Callable[[str], bytes] = text_key
    key_description: str = "the secret as plain text (its UTF-8 bytes)"

    def describe(self) -> str:
        text = f"HMAC-{self.algorithm.upper()} of {self.signs}, {self.encoding}"
        return f"{text}, prefix {self.prefix}" if self.prefix else text

    def computed(self) -> str:
        """What the signature should equal, in words, for a mismatch's reason."""
        return f"the HMAC of {self.signs}"

    def digest(self, key: bytes, payload: bytes) -> bytes:
        return hmac_digest(key, payload, self.algorithm)

    def signature(self, key: bytes, payload: bytes) -> str:
        return self.prefix + encode_digest(self.digest(key, payload), self.encoding)


@dataclass(frozen=True, kw_only=True)
class KeyedHashScheme(HmacScheme):
    """A plain hash of the secret followed by the message (HubSpot v1 and v2), not an HMAC."""

    def describe(self) -> str:
        text = f"{self.algorithm.upper()} of the secret followed by {self.signs}, {self.encoding}"
        return f"{text}, prefix {self.prefix}" if self.prefix else text

    def computed(self) -> str:
        return f"the {self.algorithm.upper()} hash of this secret followed by {self.signs}"

    def digest(self, key: bytes, payload: bytes) -> bytes:
        return HASHES[self.algorithm](key + payload).digest()


def _payloads(message: Message, body: bytes, url: str | None) -> list[bytes]:
    signed = message(body, url)
    return signed if isinstance(signed, list) else [signed]


def judge(
    *,
    matched: bool,
    timestamp: float | None,
    now: float | None,
    tolerance: float | None,
    algorithm: str,
    mismatch: str,
) -> tuple[bool, str, float | None, list[str]]:
    """(valid, reason, skew, hints) from whether a signature matched and how old its timestamp is."""
    skew = skew_of(timestamp, now) if timestamp is not None and now is not None else None
    fresh = skew is None or is_fresh(skew, tolerance)
    if matched and fresh:
        reason = f"Valid: the signature matches ({algorithm})."
        if skew is not None:
            reason += f" The timestamp is {skew_phrase(skew, tolerance)}."
        return True, reason, skew, []
    if matched and skew is not None:
        reason = f"The signature is correct, but the timestamp is {skew_phrase(skew, tolerance)}."
        return False, reason, skew, stale_hints(skew)
    if skew is not None and not fresh:
        mismatch += f" The timestamp is also {skew_phrase(skew, tolerance)}."
    return False, mismatch, skew, []


def check_hmac(
    scheme: HmacScheme,
    *,
    request: CapturedRequest,
    secret: str,
    received: list[str],
    message: Message,
    url: str | None = None,
    timestamp: float | None = None,
    now: float | None = None,
    tolerance: float | None = None,
    hints: list[str] | None = None,
    vary_body: bool = True,
    header: str | None = None,
) -> Verdict:
    """Compare `received` with the HMAC of `message(body, url)`; on failure explain the likely cause.

    `received` holds the signatures as sent, prefix included; any one matching is enough.
    """
    key = scheme.key(secret)
    header = header or scheme.header
    payloads = _payloads(message, request.body, url)
    shown = next(
        (p for p in payloads if any(same(scheme.signature(key, p), sent) for sent in received)),
        None,
    )
    valid, reason, skew, found = judge(
        matched=shown is not None,
        timestamp=timestamp,
        now=now,
        tolerance=tolerance,
        algorithm=scheme.describe(),
        mismatch=f"The signature in {header} does not match {scheme.computed()} under this secret.",
    )
    if shown is None:
        shown = payloads[0]

        def matches(variant_body: bytes, variant_key: bytes | None, variant_url: str | None) -> bool:
            signing_key = key if variant_key is None else variant_key
            return any(
                same(scheme.signature(signing_key, payload), sent)
                for payload in _payloads(message, variant_body, variant_url)
                for sent in received
            )

        found = diagnose(
            matches=matches,
            request=request,
            body=request.body,
            secret=secret,
            key=key,
            key_description=scheme.key_description,
            url=url,
            digest=scheme.digest(key, shown),
            received=received,
            encoding=scheme.encoding,
            prefix=scheme.prefix,
            vary_body=vary_body,
        )
        # What a variant proved beats advice: the provider's tips and the generic guesses are
        # only worth reading when no variant explained the mismatch.
        found = found or [*(hints or []), *advice(url)]
    return Verdict(
        valid=valid,
        provider=scheme.provider,
        reason=reason,
        header=header,
        algorithm=scheme.describe(),
        signed_payload=display(shown),
        expected=scheme.signature(key, shown),
        received=" ".join(received),
        url=url,
        timestamp=timestamp,
        timestamp_skew=skew,
        tolerance=tolerance if timestamp is not None else None,
        hints=found,
    )


def check_public_key(
    *,
    provider: str,
    header: str,
    algorithm: str,
    request: CapturedRequest,
    received: str,
    checks: Callable[[bytes], bool],
    message: Callable[[bytes], bytes],
    timestamp: float | None,
    now: float,
    tolerance: float | None,
    hints: list[str],
) -> Verdict:
    """Like check_hmac for public-key schemes: no expected signature can be shown, only the verdict.

    `checks(payload)` tells whether the received signature verifies over `payload`.
    """
    payload = message(request.body)
    valid, reason, skew, found = judge(
        matched=checks(payload),
        timestamp=timestamp,
        now=now,
        tolerance=tolerance,
        algorithm=algorithm,
        mismatch=f"The signature in {header} does not verify with this public key over the signed data.",
    )
    if not valid and not found:
        found = diagnose(
            matches=lambda body, key, url: checks(message(body)),
            request=request,
            body=request.body,
            secret="",
            key=None,
            key_description="",
        )
        found = found or [*hints, *advice(None, public_key=True)]
    return Verdict(
        valid=valid,
        provider=provider,
        reason=reason,
        header=header,
        algorithm=algorithm,
        signed_payload=display(payload),
        received=received,
        timestamp=timestamp,
        timestamp_skew=skew,
        tolerance=tolerance,
        hints=found,
    )


def raw_body(body: bytes, url: str | None) -> bytes:
    """The message of schemes that sign just the body."""
    return body


def verify_header_hmac(
    scheme: HmacScheme, request: CapturedRequest, secret: str, *, hints: list[str] | None = None
) -> Verdict:
    """The common case: one header holding an HMAC of the raw body."""
    value = request.header(scheme.header)
    if value is None:
        return missing(scheme.provider, scheme.header)
    return check_hmac(scheme, request=request, secret=secret, received=[value], message=raw_body, hints=hints)


def sign_header_hmac(schemes: list[HmacScheme], body: bytes, secret: str) -> Signed:
    """Headers for schemes that sign just the body; several when a sender sends more than one."""
    headers = [(scheme.header, scheme.signature(scheme.key(secret), body)) for scheme in schemes]
    return Signed(provider=schemes[0].provider, headers=headers, body=body, signed_payload=display(body))


def verify_with_timestamp_header(
    scheme: HmacScheme,
    request: CapturedRequest,
    secret: str,
    now: datetime | float,
    *,
    timestamp_header: str,
    tolerance: float | None,
    message: Callable[[str], Message],
    hints: list[str] | None = None,
) -> Verdict:
    """Schemes with the signature in one header and the signed timestamp in another (Slack, Zoom)."""
    signature = request.header(scheme.header)
    if signature is None:
        return missing(scheme.provider, scheme.header)
    stamp = request.header(timestamp_header)
    timestamp = parse_timestamp(stamp)
    if stamp is None or timestamp is None:
        return failed(
            scheme.provider,
            f"The request has no usable {timestamp_header} header; the timestamp is part of the signed data.",
            header=scheme.header,
            received=signature,
        )
    return check_hmac(
        scheme,
        request=request,
        secret=secret,
        received=[signature],
        message=message(stamp),
        timestamp=timestamp,
        now=epoch(now),
        tolerance=tolerance,
        hints=hints,
    )
