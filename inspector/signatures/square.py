"""Square: x-square-hmacsha256-signature, base64 HMAC-SHA256 of notification URL + body."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict, display, missing, text_option, url_option, utf8
from inspector.signatures.engine import HmacScheme, check_hmac

NAME = "square"
SCHEME = HmacScheme(
    provider=NAME,
    header="x-square-hmacsha256-signature",
    encoding="base64",
    signs="the notification URL followed by the body",
)
# Subscriptions made before 2021 still get the SHA-1 header alone.
LEGACY = HmacScheme(
    provider=NAME,
    header="x-square-signature",
    algorithm="sha1",
    encoding="base64",
    signs="the notification URL followed by the body",
)
# Every header a signature may be in: re-signing replaces them all (signatures.replaced_headers).
SIGNATURE_HEADERS = (SCHEME.header, LEGACY.header)


def detect(request: CapturedRequest) -> bool:
    return any(request.header(scheme.header) is not None for scheme in (SCHEME, LEGACY))


def _message(body: bytes, url: str | None) -> bytes:
    return utf8(url or "") + body


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, url: str | None = None
) -> Verdict:
    """`url` is the notification URL set in the subscription, when it is not the URL seen here."""
    notification_url = url_option(url, request)
    scheme = (
        SCHEME
        if request.header(SCHEME.header) is not None or request.header(LEGACY.header) is None
        else LEGACY
    )
    value = request.header(scheme.header)
    if value is None:
        return missing(NAME, scheme.header)
    return check_hmac(
        scheme,
        request=request,
        secret=secret,
        received=[value],
        message=_message,
        url=notification_url,
        hints=[
            "Square signs with the subscription's signature key (Developer Console > Webhooks > "
            "Subscriptions), not the access token or application secret."
        ],
    )


def sign(body: bytes, secret: str, timestamp: int, *, url: str | None = None) -> Signed:
    url = text_option("url", url, required=True)
    payload = _message(body, url)
    return Signed(
        provider=NAME,
        headers=[(SCHEME.header, SCHEME.signature(SCHEME.key(secret), payload))],
        body=body,
        signed_payload=display(payload),
        url=url,
    )
