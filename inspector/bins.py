"""New bins: unguessable generated ids, the rules for names a user chooses, and expiry."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

from inspector.models import Bin

# 15 random bytes: 120 bits, 20 URL-safe characters with no padding.
_ID_BYTES = 15
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")


def new_bin_id() -> str:
    return secrets.token_urlsafe(_ID_BYTES)


def check_bin_name(name: str) -> str | None:
    """Why a chosen bin name is not acceptable, or None when it is."""
    if not _NAME.match(name):
        return (
            "a bin name is 3 to 64 characters: letters, digits, '-' and '_', starting with a letter or digit"
        )
    return None


def new_bin(*, ttl_seconds: int, name: str | None = None, now: datetime | None = None) -> Bin:
    """A bin to store: named as asked (ValueError if the name breaks the rules) or with a random id."""
    if name is not None and (problem := check_bin_name(name)):
        raise ValueError(problem)
    now = now or datetime.now(UTC)
    return Bin(id=name or new_bin_id(), created_at=now, expires_at=now + timedelta(seconds=ttl_seconds))


def new_token() -> str:
    """An owner or share token: 192 random bits."""
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    # Only the hash is stored: a leaked database does not open private bins.
    return hashlib.sha256(token.encode()).hexdigest()


# Browsers keep bin tokens in cookies named with these prefixes (scoped to the dashboard's paths).
TOKEN_COOKIE_PREFIXES = ("inspector_owner_", "inspector_share_")


def owner_cookie(bin_id: str) -> str:
    return f"inspector_owner_{bin_id}"


def share_cookie(bin_id: str) -> str:
    return f"inspector_share_{bin_id}"


def without_token_cookies(value: str) -> str:
    """A Cookie header without this server's token cookies: a capture never stores our own credentials.

    Browsers do not send them to capture URLs (their paths do not match); this is the second wall,
    for cookies set before they were scoped, or by hand.
    """
    pairs = [pair for pair in value.split(";") if not pair.strip().startswith(TOKEN_COOKIE_PREFIXES)]
    return ";".join(pairs).strip()


def token_matches(token: str, expected_hash: str | None) -> bool:
    return expected_hash is not None and hmac.compare_digest(token_hash(token), expected_hash)
