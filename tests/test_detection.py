"""Provider, event and delivery id detection from a capture's headers and body (pure)."""

from __future__ import annotations

import pytest

from inspector.detection import Detected, detect

CASES = [
    (
        [("x-github-event", "push"), ("x-github-delivery", "d1")],
        b"{}",
        Detected(provider="github", event="push", delivery_id="d1"),
    ),
    (
        [("x-shopify-topic", "orders/create"), ("x-shopify-webhook-id", "w1")],
        b"{}",
        Detected(provider="shopify", event="orders/create", delivery_id="w1"),
    ),
    (
        [("stripe-signature", "t=1,v1=x")],
        b'{"id": "evt_1", "object": "event", "type": "invoice.paid"}',
        Detected(provider="stripe", event="invoice.paid", delivery_id="evt_1"),
    ),
    # A Stripe event without its signature header (the CLI's forwarding, a test fixture) still tells.
    (
        [],
        b'{"id": "evt_2", "object": "event", "type": "a.b"}',
        Detected(provider="stripe", event="a.b", delivery_id="evt_2"),
    ),
    (
        [("webhook-id", "msg_1")],
        b'{"type": "user.created"}',
        Detected(provider="standard-webhooks", event="user.created", delivery_id="msg_1"),
    ),
    (
        [("svix-id", "msg_2")],
        b'{"eventType": "x.y"}',
        Detected(provider="standard-webhooks", event="x.y", delivery_id="msg_2"),
    ),
    (
        [("x-slack-signature", "v0=1")],
        b'{"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention"}}',
        Detected(provider="slack", event="app_mention", delivery_id="Ev1"),
    ),
    (
        [("x-twilio-signature", "x"), ("i-twilio-idempotency-token", "tok")],
        b"SmsStatus=delivered&To=%2B1",
        Detected(provider="twilio", event="delivered", delivery_id="tok"),
    ),
    ([("content-type", "application/json")], b'{"type": "x"}', Detected()),
    ([], b"\x00\xff not json", Detected()),
    ([], b"[1, 2]", Detected()),
]


@pytest.mark.parametrize(("headers", "body", "expected"), CASES)
def test_detect(headers: list[tuple[str, str]], body: bytes, expected: Detected) -> None:
    assert detect(headers, body) == expected


def test_header_names_match_in_any_case() -> None:
    assert detect([("X-GitHub-Event", "ping")], b"").provider == "github"
