"""Meta (Facebook, WhatsApp, Instagram): X-Hub-Signature-256, "sha256=" + hex HMAC-SHA256 of the body."""

from __future__ import annotations

import json
from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict, choice_option
from inspector.signatures.engine import HmacScheme, sign_header_hmac, verify_header_hmac

NAME = "meta"
KEY = "the App Secret as plain text (its UTF-8 bytes)"
SHA256 = HmacScheme(provider=NAME, header="X-Hub-Signature-256", prefix="sha256=", key_description=KEY)
# Meta still sends the SHA-1 header beside the SHA-256 one.
SHA1 = HmacScheme(
    provider=NAME, header="X-Hub-Signature", algorithm="sha1", prefix="sha1=", key_description=KEY
)
USER_AGENT = "facebookexternalua"
# Every header a signature may be in: re-signing replaces them all (signatures.replaced_headers).
SIGNATURE_HEADERS = (SHA256.header, SHA1.header)
# Headers of other senders of X-Hub-Signature(-256): GitHub, Gitea/Forgejo, Bitbucket.
_OTHERS = ("x-github-event", "x-github-delivery", "x-gitea-event", "x-forgejo-event", "x-event-key")
HINTS = [
    "Meta signs with the App Secret (App Dashboard > App settings > Basic), not the verify token you "
    "chose for the subscription nor an access token.",
    "Meta signs the payload with non-ASCII characters escaped as \\uXXXX: a body decoded and encoded "
    "again no longer matches.",
]


def _is_meta_body(body: bytes) -> bool:
    """Graph API change notifications are {"object": ..., "entry": [...]}."""
    if b'"entry"' not in body or b'"object"' not in body:
        return False
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return (
        isinstance(parsed, dict)
        and isinstance(parsed.get("object"), str)
        and isinstance(parsed.get("entry"), list)
    )


def detect(request: CapturedRequest) -> bool:
    # Asked before GitHub, which claims any X-Hub-Signature-256: Meta's requests say who they are by
    # their User-Agent or the shape of their body.
    if request.header("x-hub-signature-256") is None and request.header("x-hub-signature") is None:
        return False
    if any(request.header(name) is not None for name in _OTHERS):
        return False
    agent = (request.header("user-agent") or "").lower()
    return USER_AGENT in agent or _is_meta_body(request.body)


def verify(
    request: CapturedRequest, secret: str, now: datetime | float, *, algorithm: str | None = None
) -> Verdict:
    """Check the SHA-256 signature, or the SHA-1 one when only that was sent or algorithm="sha1"."""
    chosen = choice_option("algorithm", algorithm, ("sha256", "sha1"), "")
    if not chosen:
        only_sha1 = request.header(SHA256.header) is None and request.header(SHA1.header) is not None
        chosen = "sha1" if only_sha1 else "sha256"
    return verify_header_hmac(SHA1 if chosen == "sha1" else SHA256, request, secret, hints=HINTS)


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    """Both signature headers and Meta's User-Agent, as Meta sends them."""
    signed = sign_header_hmac([SHA256, SHA1], body, secret)
    return Signed(
        provider=NAME,
        headers=[*signed.headers, ("User-Agent", USER_AGENT)],
        body=body,
        signed_payload=signed.signed_payload,
    )
