"""Which provider sent a capture, the event it reports and its delivery id, from headers and body (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from inspector.models import Header


class Detected(msgspec.Struct, frozen=True, kw_only=True):
    """What a capture says about itself; None where it cannot be told."""

    provider: str | None = None
    event: str | None = None
    # The sender's id for this delivery: a retry carries the same one (so it marks duplicates).
    delivery_id: str | None = None


# Header-led providers: (provider, header that names it, header with the event, header with the delivery id).
_BY_HEADER: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("github", "x-github-event", "x-github-event", "x-github-delivery"),
    ("gitlab", "x-gitlab-event", "x-gitlab-event", "x-gitlab-event-uuid"),
    ("shopify", "x-shopify-topic", "x-shopify-topic", "x-shopify-webhook-id"),
    ("bitbucket", "x-event-key", "x-event-key", "x-request-uuid"),
    ("linear", "linear-delivery", "linear-event", "linear-delivery"),
)
# Bodies past this size are not parsed for an event type: detection runs on listing and filtering.
_MAX_PARSED = 1024 * 1024


def _by_name(headers: Sequence[Header]) -> dict[str, str]:
    """Each header's first value by lowercase name: one pass, then a lookup per question (this runs
    for every capture as it is stored)."""
    found: dict[str, str] = {}
    for key, value in headers:
        found.setdefault(key.lower(), value)
    return found


def _json(body: bytes) -> dict[str, Any] | None:
    if not body or len(body) > _MAX_PARSED or body.lstrip()[:1] != b"{":
        return None
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, dict) else None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def detect(headers: Sequence[Header], body: bytes) -> Detected:
    """The provider, event type and delivery id of a capture, as far as its headers and body tell."""
    named = _by_name(headers)
    header = named.get
    for provider, marker, event_header, id_header in _BY_HEADER:
        if marker in named:
            return Detected(
                provider=provider,
                event=header(event_header) if event_header else None,
                delivery_id=header(id_header) if id_header else None,
            )
    data = _json(body)
    if header("stripe-signature") is not None or (
        data is not None and data.get("object") == "event" and str(data.get("id", "")).startswith("evt_")
    ):
        data = data or {}
        return Detected(provider="stripe", event=_text(data.get("type")), delivery_id=_text(data.get("id")))
    for id_header in ("webhook-id", "svix-id"):
        delivery = header(id_header)
        if delivery is not None:
            event = _text((data or {}).get("type")) or _text((data or {}).get("eventType"))
            return Detected(provider="standard-webhooks", event=event, delivery_id=delivery)
    if header("x-slack-signature") is not None or (
        data is not None and ("api_app_id" in data or "team_id" in data) and "type" in data
    ):
        data = data or {}
        inner = data.get("event")
        event = _text(inner.get("type")) if isinstance(inner, dict) else None
        return Detected(
            provider="slack", event=event or _text(data.get("type")), delivery_id=_text(data.get("event_id"))
        )
    if header("x-twilio-signature") is not None:
        form = (
            dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True)) if len(body) < _MAX_PARSED else {}
        )
        event = (
            form.get("EventType")
            or form.get("SmsStatus")
            or form.get("CallStatus")
            or form.get("MessageStatus")
        )
        return Detected(
            provider="twilio", event=event or None, delivery_id=header("i-twilio-idempotency-token")
        )
    if header("paddle-signature") is not None and data is not None:
        return Detected(
            provider="paddle", event=_text(data.get("event_type")), delivery_id=_text(data.get("event_id"))
        )
    if header("x-square-hmacsha256-signature") is not None and data is not None:
        return Detected(
            provider="square", event=_text(data.get("type")), delivery_id=_text(data.get("event_id"))
        )
    if header("x-zm-signature") is not None and data is not None:
        return Detected(provider="zoom", event=_text(data.get("event")))
    if header("x-signature-ed25519") is not None:
        return Detected(provider="discord", event=_text((data or {}).get("type")))
    return Detected()


# Labels come from what a sender wrote: cut to a sane length, and without NUL, which PostgreSQL text
# cannot hold (a label must never be why a capture fails to store).
_MAX_LABEL = 256


def _label(value: str | None) -> str | None:
    return value.replace("\x00", "")[:_MAX_LABEL] if value is not None else None


def stored_labels(headers: Sequence[Header], body: bytes) -> Detected:
    """What the store keeps of `detect`'s answer (its provider, event and delivery_id columns): the one
    definition, so a live view rendering a capture it holds shows what a read of the store would."""
    detected = detect(headers, body)
    return Detected(
        provider=_label(detected.provider),
        event=_label(detected.event),
        delivery_id=_label(detected.delivery_id),
    )
