"""GitHub: X-Hub-Signature-256 (HMAC-SHA256 of the body, hex, sha256=), or the legacy X-Hub-Signature."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict, choice_option
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "github"
SHA256 = HmacScheme(provider=NAME, header="X-Hub-Signature-256", prefix="sha256=")
SHA1 = HmacScheme(provider=NAME, header="X-Hub-Signature", algorithm="sha1", prefix="sha1=")
# Every header a signature may be in: re-signing replaces them all (signatures.replaced_headers).
SIGNATURE_HEADERS = (SHA256.header, SHA1.header)


def detect(request: CapturedRequest) -> bool:
    # Gitea and Forgejo send a compatible X-Hub-Signature-256 too, so it alone is enough.
    return any(
        request.header(name) is not None
        for name in ("x-github-event", "x-github-delivery", "x-github-hook-id", "x-hub-signature-256")
    )


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, algorithm: str | None = None
) -> Verdict:
    """Check the SHA-256 signature, or the SHA-1 one when only that was sent or algorithm="sha1"."""
    chosen = choice_option("algorithm", algorithm, ("sha256", "sha1"), "")
    if not chosen:
        only_sha1 = request.header(SHA256.header) is None and request.header(SHA1.header) is not None
        chosen = "sha1" if only_sha1 else "sha256"
    return verify_header_hmac(SHA1 if chosen == "sha1" else SHA256, request, secret)


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    """Both headers, as GitHub sends them."""
    return sign_header_hmac([SHA256, SHA1], body, secret)
