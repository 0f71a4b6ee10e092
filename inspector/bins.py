"""Bin ids: unguessable generated ones, and the rules for names a user chooses."""

from __future__ import annotations

import re
import secrets

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
