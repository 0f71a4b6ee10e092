"""The Jinja2 environment shared by pages and live fragments: autoescaped everywhere, strict about typos."""

from __future__ import annotations

from pathlib import Path

import jinja2
import msgspec


def human_size(size: int | None) -> str:
    if size is None:
        return "?"
    if size < 1024:
        return f"{size} B"
    for unit in ("KiB", "MiB", "GiB"):
        size_f = size / 1024
        if size_f < 1024 or unit == "GiB":
            return f"{size_f:.1f} {unit}"
        size = int(size_f)
    return f"{size} B"


def wire_text(data: bytes, limit: int = 256 * 1024) -> str:
    """Bytes as readable text: valid UTF-8 (ASCII included) and line breaks as they are, CR dropped,
    and every other byte (control characters, bytes that are not UTF-8) as \\xNN."""
    shown = data[:limit]
    # surrogateescape keeps each undecodable byte as one lone surrogate, so it can be shown as \xNN.
    text = "".join(_wire_char(char) for char in shown.decode("utf-8", errors="surrogateescape"))
    if len(data) > limit:
        text += f"\n… {len(data) - limit} more bytes (download the body to see them)"
    return text


def _wire_char(char: str) -> str:
    if char in "\t\n" or char.isprintable():  # lone surrogates are not printable
        return char
    code = ord(char)
    if char == "\r":
        return ""
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte
        return f"\\x{code - 0xDC00:02x}"
    # A control or format character, decoded from valid UTF-8: its bytes, escaped.
    return "".join(f"\\x{byte:02x}" for byte in char.encode("utf-8"))


# Shown masked until the user asks: credentials and signatures should not leak on a shared screen.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-gitlab-token",
        "x-hub-signature",
        "x-hub-signature-256",
        "stripe-signature",
        "x-slack-signature",
        "x-shopify-hmac-sha256",
        "x-twilio-signature",
        "webhook-signature",
        "svix-signature",
        "x-square-hmacsha256-signature",
        "paddle-signature",
        "x-zm-signature",
        "linear-signature",
        "x-signature-ed25519",
        "x-twilio-email-event-webhook-signature",
        # Telegram's header is the secret itself, not a signature of it.
        "x-telegram-bot-api-secret-token",
        "x-wc-webhook-signature",
        "x-hubspot-signature",
        "x-hubspot-signature-v3",
        "x-razorpay-signature",
        "x-paystack-signature",
        "typeform-signature",
        "twitch-eventsub-message-signature",
        "x-signature",
        "x-vercel-signature",
        "calendly-webhook-signature",
        "x-xero-signature",
        "x-dropbox-signature",
    }
)


def is_sensitive(header_name: str) -> bool:
    return header_name.lower() in SENSITIVE_HEADERS


def create_environment(directory: Path) -> jinja2.Environment:
    # Captured data is hostile: autoescape every template, whatever its extension.
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
        # Templates ship with the package and change only with it: no stat() of every template (and
        # of each one it includes) on every page and live row.
        auto_reload=False,
    )
    environment.filters["size"] = human_size
    environment.filters["wire"] = wire_text
    # JSON of our own structs, as text (autoescaped like any other value).
    environment.filters["json"] = lambda value: msgspec.json.encode(value).decode()
    environment.tests["sensitive"] = is_sensitive
    return environment
