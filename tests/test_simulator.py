"""The provider simulator: every shipped event, sent over real HTTP to a bin, verifies with our own
verifier and, where the provider has one, its SDK; repeats, bad signatures, stale timestamps, --set."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import httpx
import pytest
import razorpay
import stripe
from conftest import Recorded, RecordingTarget, ServerProcess
from hubspot.utils.signature import Signature as HubSpotSignature
from paddle_billing.Notifications.PaddleSignature import PaddleSignature
from paddle_billing.Notifications.Secret import Secret as PaddleSecret
from slack_sdk.signature import SignatureVerifier
from square.utils.webhooks_helper import verify_signature as square_verify

from inspector.simulator import SimulatorError, catalogue, prepare, providers, send
from inspector.targets import TargetPolicy

SECRET = "sim-secret-123"
EVENTS = [(provider, event) for provider in providers() for event in catalogue(provider).events]
LOCAL = TargetPolicy(allow_private=True)


def verify(client: httpx.Client, bin_id: str, request_id: str, provider: str, secret: str = SECRET) -> dict:
    response = client.post(
        f"/api/bins/{bin_id}/requests/{request_id}/verify", json={"provider": provider, "secret": secret}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_every_provider_ships_events_with_a_source() -> None:
    assert {"github", "stripe", "shopify", "slack"} <= set(providers())
    for provider in providers():
        book = catalogue(provider)
        assert book.source and book.timeout_source and book.events
        assert book.timeout_seconds > 0


@pytest.mark.parametrize(("provider", "event"), EVENTS)
def test_each_event_sent_to_a_bin_verifies(
    client: httpx.Client, server: ServerProcess, bin_id: str, provider: str, event: str
) -> None:
    [sent] = asyncio.run(
        send(provider, event, to=f"{server.url}/b/{bin_id}/hook", secret=SECRET, policy=LOCAL)
    )
    assert sent.accepted, sent.summary()
    request_id = dict(sent.result.response_headers)["x-inspector-request-id"]
    verdict = verify(client, bin_id, request_id, "auto")
    assert verdict["provider"] == provider
    assert verdict["valid"] is True, verdict
    captured = client.get(f"/api/bins/{bin_id}/requests/{request_id}").json()
    body = json.loads(captured["body"])
    # Placeholders are filled: no "{{...}}" reaches the receiver.
    assert "{{" not in captured["body"]
    assert isinstance(body, dict | list)


def body_and_headers(provider: str, event: str, **kwargs: object) -> tuple[str, dict[str, str]]:
    prepared = prepare(
        provider, event, to="http://127.0.0.1:9/hook", secret=SECRET, now=int(time.time()), **kwargs
    )
    return prepared.outbound.body.decode(), dict(prepared.outbound.headers)


@pytest.mark.parametrize("event", list(catalogue("stripe").events))
def test_stripe_events_pass_the_stripe_sdk(event: str) -> None:
    body, headers = body_and_headers("stripe", event)
    parsed = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
    assert parsed["type"] == event
    assert parsed["id"].startswith("evt_")


@pytest.mark.parametrize("event", list(catalogue("slack").events))
def test_slack_events_pass_the_slack_sdk(event: str) -> None:
    body, headers = body_and_headers("slack", event)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])


@pytest.mark.parametrize("event", list(catalogue("razorpay").events))
def test_razorpay_events_pass_the_razorpay_sdk(event: str) -> None:
    body, headers = body_and_headers("razorpay", event)
    utility = razorpay.Client(auth=("k", "s")).utility
    assert utility.verify_webhook_signature(body, headers["X-Razorpay-Signature"], SECRET) is not False


@pytest.mark.parametrize("event", list(catalogue("paddle").events))
def test_paddle_events_pass_the_paddle_sdk(event: str) -> None:
    body, headers = body_and_headers("paddle", event)
    assert PaddleSignature().verify(headers["Paddle-Signature"], body, PaddleSecret(SECRET))


@pytest.mark.parametrize("event", list(catalogue("square").events))
def test_square_events_pass_the_square_sdk(event: str) -> None:
    body, headers = body_and_headers("square", event)
    assert square_verify(
        request_body=body,
        signature_header=headers["x-square-hmacsha256-signature"],
        signature_key=SECRET,
        notification_url="http://127.0.0.1:9/hook",
    )


@pytest.mark.parametrize("event", list(catalogue("hubspot").events))
def test_hubspot_events_pass_the_hubspot_sdk(event: str) -> None:
    body, headers = body_and_headers("hubspot", event)
    assert HubSpotSignature.is_valid(
        headers["X-HubSpot-Signature-v3"],
        SECRET,
        body,
        http_uri="http://127.0.0.1:9/hook",
        signature_version="v3",
        timestamp=headers["X-HubSpot-Request-Timestamp"],
    )


def test_bad_signature_and_stale_timestamp_fail_verification(
    client: httpx.Client, server: ServerProcess, bin_id: str
) -> None:
    to = f"{server.url}/b/{bin_id}"
    [bad] = asyncio.run(
        send("stripe", "payment_intent.succeeded", to=to, secret=SECRET, policy=LOCAL, bad_signature=True)
    )
    verdict = verify(client, bin_id, dict(bad.result.response_headers)["x-inspector-request-id"], "stripe")
    assert verdict["valid"] is False
    assert "does not match" in verdict["reason"]
    [stale] = asyncio.run(
        send("stripe", "payment_intent.succeeded", to=to, secret=SECRET, policy=LOCAL, stale_timestamp=True)
    )
    verdict = verify(client, bin_id, dict(stale.result.response_headers)["x-inspector-request-id"], "stripe")
    assert verdict["valid"] is False
    assert "signature is correct" in verdict["reason"]
    assert verdict["timestamp_skew"] >= 3600


def test_repeat_sends_the_same_id_each_time(recording_target) -> None:
    target: RecordingTarget = recording_target()
    sent = asyncio.run(
        send("github", "push", to=f"{target.url}/hook", secret=SECRET, policy=LOCAL, repeat=3, delay=0.05)
    )
    assert [delivery.accepted for delivery in sent] == [True, True, True]
    target.wait_for(3)
    ids = {dict((k.lower(), v) for k, v in r.header_list()).get("x-github-delivery") for r in target.requests}
    assert len(ids) == 1
    assert None not in ids
    stripe_sent = asyncio.run(
        send(
            "stripe", "payment_intent.succeeded", to=f"{target.url}/s", secret=SECRET, policy=LOCAL, repeat=2
        )
    )
    assert len({json.loads(d.prepared.outbound.body)["id"] for d in stripe_sent}) == 1


def test_set_changes_the_body_and_the_signature_still_holds() -> None:
    body, headers = body_and_headers(
        "stripe", "payment_intent.succeeded", sets=["data.object.amount=500", "livemode=true"]
    )
    parsed = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
    assert parsed["data"]["object"]["amount"] == 500
    assert parsed["livemode"] is True


def test_slow_answer_is_not_accepted(recording_target) -> None:
    def slow(recorded: Recorded) -> tuple[int, list[tuple[str, str]], bytes]:
        time.sleep(3.5)
        return 200, [("Content-Type", "text/plain")], b"ok"

    target: RecordingTarget = recording_target(slow)
    [sent] = asyncio.run(send("slack", "app_mention", to=target.url, secret=SECRET, policy=LOCAL))
    assert sent.result.status == 200
    assert not sent.accepted
    assert "slower than slack's 3 s timeout" in sent.summary()


@pytest.mark.parametrize(
    ("provider", "event", "sets", "fragment"),
    [
        ("nosuch", "x", [], "knows"),
        ("stripe", "nosuch", [], "has no sample event"),
        ("stripe", "payment_intent.succeeded", ["=1"], "PATH=VALUE"),
        ("stripe", "payment_intent.succeeded", ["type.x=1"], "not an object"),
    ],
)
def test_bad_input_is_explained(provider: str, event: str, sets: list[str], fragment: str) -> None:
    with pytest.raises(SimulatorError, match=fragment):
        prepare(provider, event, to="http://127.0.0.1:9/", secret=SECRET, now=0, sets=sets)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", "trigger", *args],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=60,
    )


def test_command_line_sends_and_reports(client: httpx.Client, server: ServerProcess, bin_id: str) -> None:
    listed = run_cli()
    assert listed.returncode == 0 and "github" in listed.stdout.split()
    events = run_cli("github")
    assert "push" in events.stdout and "GitHub Docs" in events.stdout
    done = run_cli("github", "ping", "--to", f"{server.url}/b/{bin_id}", "--secret", SECRET, "--repeat", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("delivered (2xx within github's 10 s)") == 2
    requests = client.get(f"/api/bins/{bin_id}/requests").json()["items"]
    assert len(requests) == 2
    assert verify(client, bin_id, str(requests[0]["id"]), "github")["valid"] is True


def test_command_line_errors(recording_target) -> None:
    assert run_cli("nosuch", "x", "--to", "http://127.0.0.1:9/").returncode == 2
    assert run_cli("stripe", "payment_intent.succeeded").returncode == 2
    refused = run_cli("stripe", "payment_intent.succeeded", "--to", "http://127.0.0.1:9/")
    assert refused.returncode == 1
    assert "not delivered" in refused.stdout
    assert "inspector-test-secret" in refused.stderr


def trigger_panel(client: httpx.Client, bin_id: str, **form: str) -> str:
    response = client.post(f"/bins/{bin_id}/trigger", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.text
    return response.text


def test_panel_sends_a_signed_event_to_the_bin(client: httpx.Client, bin_id: str) -> None:
    page = client.get(f"/bins/{bin_id}/settings").text  # the panel is in the bin's settings view
    assert 'value="stripe/payment_intent.succeeded"' in page
    html = trigger_panel(client, bin_id, event="github/push", secret=SECRET, repeat="2")
    assert html.count("✓") == 2
    assert "delivered (2xx within github&#39;s 10 s)" in html
    items = client.get(f"/api/bins/{bin_id}/requests").json()["items"]
    assert len(items) == 2
    assert verify(client, bin_id, str(items[0]["id"]), "github")["valid"] is True


def test_panel_with_bad_signature_still_delivers_and_fails_verification(
    client: httpx.Client, bin_id: str
) -> None:
    html = trigger_panel(client, bin_id, event="slack/app_mention", bad_signature="on")
    assert "inspector-test-secret" in html
    [item] = client.get(f"/api/bins/{bin_id}/requests").json()["items"]
    assert verify(client, bin_id, str(item["id"]), "slack", "inspector-test-secret")["valid"] is False


@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        ({"event": "nosuch/x"}, "knows"),
        ({"event": "github/push", "repeat": "9"}, "Repeat takes"),
        ({"event": "github/push", "target": "ftp://x.example/"}, "http"),
        ({"event": "github/push", "sets": "ref.<b>=1"}, "ref.&lt;b&gt;: ref is not an object"),
    ],
)
def test_panel_errors_are_shown_escaped(client: httpx.Client, bin_id: str, form: dict, fragment: str) -> None:
    html = trigger_panel(client, bin_id, **form)
    assert fragment in html
    assert "<b>" not in html


def test_target_with_non_ascii_path_is_sent_percent_encoded(recording_target) -> None:
    target: RecordingTarget = recording_target()
    [sent] = asyncio.run(
        send("github", "ping", to=f"{target.url}/crochet/é?q=ü", secret=SECRET, policy=LOCAL)
    )
    assert sent.accepted, sent.summary()
    [recorded] = target.wait_for(1)
    assert recorded.target == "/crochet/%C3%A9?q=%C3%BC"
