"""Providers' URL-verification handshakes: recognise a challenge and compute the answer it expects (pure)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from inspector.models import CapturedRequest

# Challenges are small JSON documents: a body larger than this is not one, and is not parsed.
MAX_CHALLENGE_BODY = 64 * 1024
PROVIDERS = ("Slack", "Zoom", "Meta", "Twitch", "Microsoft Graph", "Dropbox")


class Challenge(NamedTuple):
    """A verification request a provider sends before it delivers events to a URL."""

    provider: str
    # What the provider calls it, e.g. "url_verification".
    name: str
    # The value to echo (Zoom: the plainToken to sign).
    value: str


class Reply(NamedTuple):
    """The answer a provider expects, or the refusal it expects when the request does not check out."""

    status: int
    content_type: str
    body: bytes


class Outcome(NamedTuple):
    """A recognised challenge, the reply to send (None: answer as usual) and what happened, in words."""

    challenge: Challenge
    reply: Reply | None
    note: str


def _json(request: CapturedRequest) -> dict[str, Any] | None:
    if request.method != "POST" or len(request.body) > MAX_CHALLENGE_BODY:
        return None
    if b"challenge" not in request.body and b"plainToken" not in request.body:
        return None
    try:
        parsed = json.loads(request.body)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _query(request: CapturedRequest) -> dict[str, str]:
    # The first value of each name, as the providers' own examples read them.
    found: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        found.setdefault(name, value)
    return found


def recognise(request: CapturedRequest) -> Challenge | None:
    """The challenge this request carries, if it is one of the handshakes Inspector answers."""
    query = _query(request) if request.query else {}
    if request.method == "GET" and query.get("hub.mode") == "subscribe" and "hub.challenge" in query:
        return Challenge("Meta", "hub.challenge", query["hub.challenge"])
    if request.method == "GET" and "challenge" in query:
        return Challenge("Dropbox", "challenge", query["challenge"])
    if request.method == "POST" and "validationToken" in query:
        return Challenge("Microsoft Graph", "validationToken", query["validationToken"])
    kind = (request.header("twitch-eventsub-message-type") or "").strip()
    body = _json(request)
    if body is None:
        return None
    challenge = body.get("challenge")
    if kind == "webhook_callback_verification" and isinstance(challenge, str):
        return Challenge("Twitch", "webhook_callback_verification", challenge)
    if body.get("type") == "url_verification" and isinstance(challenge, str):
        return Challenge("Slack", "url_verification", challenge)
    payload = body.get("payload")
    token = payload.get("plainToken") if isinstance(payload, dict) else None
    if body.get("event") == "endpoint.url_validation" and isinstance(token, str):
        return Challenge("Zoom", "endpoint.url_validation", token)
    return None


def _text(value: str) -> Reply:
    return Reply(200, "text/plain; charset=utf-8", value.encode("utf-8", "surrogateescape"))


def answer(request: CapturedRequest, *, zoom_secret: str | None, verify_token: str | None) -> Outcome | None:
    """What to answer a request carrying a challenge, as the provider's documentation shows; None for
    any other request.

    `zoom_secret` is the bin's remembered Zoom secret token, `verify_token` the bin's Meta verify token;
    without them those two challenges cannot be answered and the bin answers as usual.
    """
    challenge = recognise(request)
    if challenge is None:
        return None
    echoed = "answered the handshake: the challenge was echoed"
    if challenge.provider == "Zoom":
        if not zoom_secret:
            return Outcome(challenge, None, "not answered: the bin remembers no Zoom secret token")
        encrypted = hmac.new(zoom_secret.encode(), challenge.value.encode(), hashlib.sha256).hexdigest()
        body = json.dumps({"plainToken": challenge.value, "encryptedToken": encrypted}).encode()
        return Outcome(
            challenge,
            Reply(200, "application/json", body),
            "answered the handshake: plainToken signed with the bin's Zoom secret token",
        )
    if challenge.provider == "Meta":
        if not verify_token:
            return Outcome(challenge, None, "not answered: the bin has no Meta verify token")
        sent = _query(request).get("hub.verify_token", "")
        if not hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), verify_token.encode()):
            # Meta's own example answers 403 when the tokens differ.
            refusal = Reply(403, "text/plain; charset=utf-8", b"hub.verify_token does not match")
            return Outcome(
                challenge, refusal, "refused the handshake: hub.verify_token differs from the bin's token"
            )
    return Outcome(challenge, _text(challenge.value), echoed)
