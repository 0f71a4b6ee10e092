"""Intercom: X-Hub-Signature, sha1= and the hex HMAC-SHA1 of the body keyed with the app's client secret."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "intercom"
SCHEME = HmacScheme(provider=NAME, header="X-Hub-Signature", algorithm="sha1", prefix="sha1=")


def detect(request: CapturedRequest) -> bool:
    # Asked after GitHub and Bitbucket: what is left with a SHA-1 X-Hub-Signature is Intercom's.
    signature = request.header("x-hub-signature")
    if signature is None:
        return False
    return "intercom" in (request.header("user-agent") or "").lower() or signature.startswith("sha1=")


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    return verify_header_hmac(
        SCHEME,
        request,
        secret,
        hints=["Intercom signs with the app's client secret (Developer Hub > Basic information)."],
    )


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    return sign_header_hmac([SCHEME], body, secret)
