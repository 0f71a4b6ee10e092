"""Bitbucket: X-Hub-Signature holding sha256= and the hex HMAC-SHA256 of the body."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "bitbucket"
SCHEME = HmacScheme(provider=NAME, header="X-Hub-Signature", prefix="sha256=")


def detect(request: CapturedRequest) -> bool:
    # The registry asks GitHub first, so an X-Hub-Signature left here with sha256= is Bitbucket's.
    signature = request.header("x-hub-signature")
    if signature is None:
        return False
    agent = (request.header("user-agent") or "").lower()
    marked = request.header("x-event-key") is not None or "bitbucket" in agent
    return marked or signature.startswith("sha256=")


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    return verify_header_hmac(SCHEME, request, secret)


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    return sign_header_hmac([SCHEME], body, secret)
