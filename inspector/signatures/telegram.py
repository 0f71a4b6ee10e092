"""Telegram: X-Telegram-Bot-Api-Secret-Token carries the setWebhook secret_token itself, compared as is."""

from __future__ import annotations

import re
from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    SignatureConfigError,
    Signed,
    Verdict,
    missing,
    require_secret,
    same,
)

NAME = "telegram"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALGORITHM = "no signature: the header carries the secret_token given to setWebhook, compared as is"
# The Bot API refuses any other secret_token in setWebhook.
ALLOWED = re.compile(r"[A-Za-z0-9_-]{1,256}")
BOT_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{30,}")


def detect(request: CapturedRequest) -> bool:
    return request.header(HEADER) is not None


def _described(token: str) -> str:
    """A token described without showing it: verdicts are stored and shown beside the request, whose
    view masks this header until asked."""
    return f"{len(token)} characters, ending {token[-2:]!r}" if len(token) > 4 else f"{len(token)} characters"


def _hints(received: str, secret: str) -> list[str]:
    hints: list[str] = []
    if same(received.strip(), secret.strip()):
        hints.append(
            "The token matches once surrounding whitespace is removed: the secret was copied with it."
        )
    elif received.lower() == secret.lower():
        hints.append("The token matches except for letter case: the comparison is case-sensitive.")
    if BOT_TOKEN.fullmatch(secret.strip()):
        hints.append(
            "That secret looks like the bot token. The header carries the secret_token you passed to "
            "setWebhook, which is a different value."
        )
    elif not ALLOWED.fullmatch(secret):
        hints.append(
            "Telegram allows only 1-256 characters A-Z, a-z, 0-9, _ and - in secret_token, so setWebhook "
            "cannot have been given this secret."
        )
    hints.append(
        "Check the secret_token of the current webhook: each setWebhook call replaces it, and "
        "getWebhookInfo does not show it."
    )
    return hints


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    """Equality in constant time; the verdict never repeats the secret."""
    require_secret(secret, "secret token")
    received = request.header(HEADER)
    if received is None:
        return missing(
            NAME, HEADER, hint="Telegram only sends the header when setWebhook was given a secret_token."
        )
    expected = f"the secret given here ({_described(secret)})"
    shown = f"the token in {HEADER} ({_described(received)})"
    if same(received, secret):
        return Verdict(
            valid=True,
            provider=NAME,
            reason=f"Valid: {HEADER} equals the secret token.",
            header=HEADER,
            algorithm=ALGORITHM,
            expected=expected,
            received=shown,
        )
    return Verdict(
        valid=False,
        provider=NAME,
        reason=f"{HEADER} ({_described(received)}) differs from the secret token given here "
        f"({_described(secret)}).",
        header=HEADER,
        algorithm=ALGORITHM,
        expected=expected,
        received=shown,
        hints=_hints(received, secret),
    )


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    require_secret(secret, "secret token")
    if not ALLOWED.fullmatch(secret):
        raise SignatureConfigError(
            "A Telegram secret_token is 1-256 characters A-Z, a-z, 0-9, _ and -; this one is not."
        )
    return Signed(provider=NAME, headers=[(HEADER, secret)], body=body, signed_payload="")
