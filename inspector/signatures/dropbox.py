"""Dropbox: X-Dropbox-Signature, the hex HMAC-SHA256 of the body keyed with the app secret."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "dropbox"
SCHEME = HmacScheme(provider=NAME, header="X-Dropbox-Signature")
HINTS = [
    "Dropbox signs with the App secret of the app (App Console > Settings), not an access token "
    "or the app key."
]


def detect(request: CapturedRequest) -> bool:
    return request.header("x-dropbox-signature") is not None


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    return verify_header_hmac(SCHEME, request, secret, hints=HINTS)


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    return sign_header_hmac([SCHEME], body, secret)
