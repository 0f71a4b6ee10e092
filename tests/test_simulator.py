"""The provider simulator: every shipped event, sent over real HTTP to a bin, verifies with our own
verifier and, where the provider has one, its SDK; repeats, bad signatures, stale timestamps, --set."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from urllib.parse import parse_qsl

import httpx
import nacl.signing
import pytest
import razorpay
import stripe
from Adyen.util import is_valid_hmac_notification
from conftest import Recorded, RecordingTarget, ServerProcess
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hubspot.utils.signature import Signature as HubSpotSignature
from mailgun.security import SecurityGuard
from paddle_billing.Notifications.PaddleSignature import PaddleSignature
from paddle_billing.Notifications.Secret import Secret as PaddleSecret
from sendgrid.helpers.eventwebhook import EventWebhook
from slack_sdk.signature import SignatureVerifier
from square.utils.webhooks_helper import verify_signature as square_verify
from standardwebhooks.webhooks import Webhook as StandardWebhook
from twilio.request_validator import RequestValidator

from inspector.simulator import Prepared, SimulatorError, catalogue, default_secret, prepare, providers, send
from inspector.targets import TargetPolicy

SECRET = "sim-secret-123"
# Providers whose secret has a form: Adyen's HMAC key is hex, a Standard Webhooks secret whsec_ base64.
SECRETS = {
    "adyen": "44782def547aaa06c910c43932b1eb0c71fc68d9d0c057550c48ec2acf6ba056",
    "standard-webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}
EVENTS = [(provider, event) for provider in providers() for event in catalogue(provider).events]
LOCAL = TargetPolicy(allow_private=True)


def secret_for(provider: str) -> str:
    return SECRETS.get(provider, SECRET)


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
        send(provider, event, to=f"{server.url}/b/{bin_id}/hook", secret=secret_for(provider), policy=LOCAL)
    )
    assert sent.accepted, sent.summary()
    request_id = dict(sent.result.response_headers)["x-inspector-request-id"]
    # For a public-key scheme this is the public key, the only thing a receiver is given.
    verdict = verify(client, bin_id, request_id, "auto", sent.prepared.verify_secret)
    assert verdict["provider"] == provider
    assert verdict["valid"] is True, verdict
    captured = client.get(f"/api/bins/{bin_id}/requests/{request_id}").json()
    # Placeholders are filled: no "{{...}}" reaches the receiver.
    assert "{{" not in captured["body"]
    if catalogue(provider).body_encoding == "form":
        assert dict(parse_qsl(captured["body"], strict_parsing=True))
    else:
        assert isinstance(json.loads(captured["body"]), dict | list)


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


def prepared_for(provider: str, event: str, **kwargs: object) -> Prepared:
    return prepare(
        provider,
        event,
        to="http://127.0.0.1:9/hook",
        secret=secret_for(provider),
        now=int(time.time()),
        **kwargs,
    )


@pytest.mark.parametrize("event", list(catalogue("twilio").events))
def test_twilio_events_pass_the_twilio_sdk(event: str) -> None:
    prepared = prepared_for("twilio", event)
    headers = dict(prepared.outbound.headers)
    params = dict(parse_qsl(prepared.outbound.body.decode(), keep_blank_values=True))
    # Twilio posts forms; the SDK's validator signs the URL and the sorted parameters.
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert RequestValidator(SECRET).validate(prepared.outbound.url, params, headers["X-Twilio-Signature"])
    assert not RequestValidator(SECRET + "x").validate(
        prepared.outbound.url, params, headers["X-Twilio-Signature"]
    )
    sid = params.get("MessageSid") or params["CallSid"]
    assert sid.startswith("CA" if event.startswith("call.") else "SM")
    assert len(sid) == 34


@pytest.mark.parametrize("event", list(catalogue("standard-webhooks").events))
def test_standard_webhooks_events_pass_the_standard_webhooks_sdk(event: str) -> None:
    prepared = prepared_for("standard-webhooks", event)
    headers = dict(prepared.outbound.headers)
    parsed = StandardWebhook(SECRETS["standard-webhooks"]).verify(prepared.outbound.body, headers)
    assert parsed["type"] == event
    assert headers["webhook-id"] == prepared.delivery_id


@pytest.mark.parametrize("event", list(catalogue("adyen").events))
def test_adyen_events_pass_the_adyen_sdk(event: str) -> None:
    prepared = prepared_for("adyen", event)
    notification = json.loads(prepared.outbound.body)
    assert is_valid_hmac_notification(notification, SECRETS["adyen"])
    assert notification["notificationItems"][0]["NotificationRequestItem"]["eventCode"] == event
    wrong = json.loads(prepared_for("adyen", event, bad_signature=True).outbound.body)
    assert not is_valid_hmac_notification(wrong, SECRETS["adyen"])


@pytest.mark.parametrize("event", list(catalogue("mailgun").events))
def test_mailgun_events_pass_the_mailgun_sdk(event: str) -> None:
    prepared = prepared_for("mailgun", event)
    body = json.loads(prepared.outbound.body)
    signature = body["signature"]
    assert SecurityGuard.verify_webhook(
        SECRET, signature["token"], signature["timestamp"], signature["signature"]
    )
    assert body["event-data"]["event"] == event.split(".")[0]
    assert body["event-data"]["id"] == prepared.delivery_id


@pytest.mark.parametrize("event", list(catalogue("discord").events))
def test_discord_events_pass_pynacl_with_the_public_key(event: str) -> None:
    prepared = prepared_for("discord", event)
    headers = dict(prepared.outbound.headers)
    # PyNaCl is what Discord's own documentation verifies interactions with.
    key = nacl.signing.VerifyKey(bytes.fromhex(prepared.verify_secret))
    key.verify(
        headers["X-Signature-Timestamp"].encode() + prepared.outbound.body,
        bytes.fromhex(headers["X-Signature-Ed25519"]),
    )
    # The key comes from the secret: the same secret, the same public key to configure once.
    assert prepared_for("discord", event).verify_secret == prepared.verify_secret
    assert (
        prepare("discord", event, to="http://127.0.0.1:9/", secret="another", now=0).verify_secret
        != prepared.verify_secret
    )


def test_discord_takes_a_private_key_as_the_secret() -> None:
    signing = nacl.signing.SigningKey.generate()
    prepared = prepare(
        "discord",
        "interaction.ping",
        to="http://127.0.0.1:9/",
        secret=bytes(signing).hex(),
        now=int(time.time()),
    )
    assert prepared.verify_secret == bytes(signing.verify_key).hex()
    headers = dict(prepared.outbound.headers)
    signing.verify_key.verify(
        headers["X-Signature-Timestamp"].encode() + prepared.outbound.body,
        bytes.fromhex(headers["X-Signature-Ed25519"]),
    )


@pytest.mark.parametrize("key_type", ["p256", "rsa"])
def test_a_pem_private_key_is_used_even_with_its_line_breaks_lost(key_type: str) -> None:
    provider = {"p256": "sendgrid", "rsa": "aws-sns"}[key_type]
    private = (
        ec.generate_private_key(ec.SECP256R1())
        if key_type == "p256"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    event = next(iter(catalogue(provider).events))
    for given in (pem, pem.replace("\n", "")):  # as typed into a password field
        prepared = prepare(provider, event, to="http://127.0.0.1:9/", secret=given, now=int(time.time()))
        loaded = serialization.load_pem_public_key(public)
        if key_type == "p256":
            assert base64.b64decode(prepared.verify_secret) == loaded.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        else:
            assert prepared.verify_secret.encode() == public


@pytest.mark.parametrize("event", list(catalogue("sendgrid").events))
def test_sendgrid_events_pass_the_sendgrid_sdk(event: str) -> None:
    prepared = prepared_for("sendgrid", event)
    headers = dict(prepared.outbound.headers)
    webhook = EventWebhook()
    key = webhook.convert_public_key_to_ecdsa(prepared.verify_secret)
    assert webhook.verify_signature(
        prepared.outbound.body.decode(),
        headers["X-Twilio-Email-Event-Webhook-Signature"],
        headers["X-Twilio-Email-Event-Webhook-Timestamp"],
        key,
    )
    [item] = json.loads(prepared.outbound.body)
    assert item["event"] == event
    assert item["sg_event_id"] == prepared.delivery_id
    wrong = prepared_for("sendgrid", event, bad_signature=True)
    assert wrong.verify_secret == prepared.verify_secret
    assert not webhook.verify_signature(
        wrong.outbound.body.decode(),
        dict(wrong.outbound.headers)["X-Twilio-Email-Event-Webhook-Signature"],
        dict(wrong.outbound.headers)["X-Twilio-Email-Event-Webhook-Timestamp"],
        key,
    )


# The fields Amazon SNS signs, in order, per "Verifying the signatures of Amazon SNS messages".
SNS_SIGNED = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ],
    "UnsubscribeConfirmation": [
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ],
}


@pytest.mark.parametrize("event", list(catalogue("aws-sns").events))
def test_sns_events_verify_as_amazon_documents(event: str) -> None:
    """No SNS SDK verifies messages in Python: this follows Amazon's documented steps, independently."""
    prepared = prepared_for("aws-sns", event)
    message = json.loads(prepared.outbound.body)
    assert message["Type"] == event.split(".")[0]
    assert message["MessageId"] == prepared.delivery_id
    assert dict(prepared.outbound.headers)["x-amz-sns-message-type"] == message["Type"]
    canonical = "".join(
        f"{name}\n{message[name]}\n" for name in SNS_SIGNED[message["Type"]] if name in message
    ).encode()
    key = serialization.load_pem_public_key(prepared.verify_secret.encode())
    digest = hashes.SHA1() if message["SignatureVersion"] == "1" else hashes.SHA256()
    key.verify(base64.b64decode(message["Signature"]), canonical, padding.PKCS1v15(), digest)
    if message["Type"] == "Notification":
        assert json.loads(message["Message"])
        assert message["Subject"]


@pytest.mark.parametrize(
    ("provider", "header", "algorithm"),
    [("intercom", "X-Hub-Signature", "sha1"), ("bitbucket", "X-Hub-Signature", "sha256")],
)
def test_hub_signature_events_match_the_documented_hmac(provider: str, header: str, algorithm: str) -> None:
    """Neither Intercom nor Bitbucket publishes a Python verifier: their documented HMAC, by hand."""
    for event in catalogue(provider).events:
        prepared = prepared_for(provider, event)
        expected = hmac.new(SECRET.encode(), prepared.outbound.body, getattr(hashlib, algorithm)).hexdigest()
        assert dict(prepared.outbound.headers)[header] == f"{algorithm}={expected}"
    push = dict(prepared_for("bitbucket", "repo:push").outbound.headers)
    assert push["X-Event-Key"] == "repo:push"
    assert push["X-Request-UUID"]


@pytest.mark.parametrize(
    ("provider", "event"),
    [
        ("twilio", "message.received"),
        ("adyen", "AUTHORISATION"),
        ("standard-webhooks", "contact.created"),
        ("discord", "interaction.application_command"),
        ("sendgrid", "delivered"),
        ("aws-sns", "Notification.s3_object_created"),
        ("mailgun", "delivered"),
    ],
)
def test_bad_signature_of_new_providers_is_well_formed_and_refused(
    client: httpx.Client, server: ServerProcess, bin_id: str, provider: str, event: str
) -> None:
    [bad] = asyncio.run(
        send(
            provider,
            event,
            to=f"{server.url}/b/{bin_id}",
            secret=secret_for(provider),
            policy=LOCAL,
            bad_signature=True,
        )
    )
    assert bad.accepted, bad.summary()
    request_id = dict(bad.result.response_headers)["x-inspector-request-id"]
    verdict = verify(client, bin_id, request_id, provider, bad.prepared.verify_secret)
    assert verdict["valid"] is False, verdict


@pytest.mark.parametrize(
    ("provider", "event"),
    [
        ("discord", "interaction.ping"),
        ("sendgrid", "open"),
        ("standard-webhooks", "invoice.paid"),
        ("mailgun", "opened"),
    ],
)
def test_stale_timestamp_of_new_providers_is_refused_for_its_age(
    client: httpx.Client, server: ServerProcess, bin_id: str, provider: str, event: str
) -> None:
    [stale] = asyncio.run(
        send(
            provider,
            event,
            to=f"{server.url}/b/{bin_id}",
            secret=secret_for(provider),
            policy=LOCAL,
            stale_timestamp=True,
        )
    )
    request_id = dict(stale.result.response_headers)["x-inspector-request-id"]
    verdict = verify(client, bin_id, request_id, provider, stale.prepared.verify_secret)
    assert verdict["valid"] is False, verdict
    assert "signature is correct" in verdict["reason"]
    assert verdict["timestamp_skew"] >= 3600


def test_repeats_keep_the_id_where_the_scheme_carries_it(recording_target) -> None:
    target: RecordingTarget = recording_target()
    cases = [
        (
            "aws-sns",
            "Notification.cloudwatch_alarm",
            lambda d: json.loads(d.prepared.outbound.body)["MessageId"],
        ),
        ("standard-webhooks", "contact.created", lambda d: dict(d.prepared.outbound.headers)["webhook-id"]),
        ("bitbucket", "repo:push", lambda d: dict(d.prepared.outbound.headers)["X-Request-UUID"]),
    ]
    for provider, event, ident in cases:
        ticks = iter([1_700_000_000, 1_700_000_007])
        sent = asyncio.run(
            send(
                provider,
                event,
                to=f"{target.url}/{provider}",
                secret=secret_for(provider),
                policy=LOCAL,
                repeat=2,
                clock=lambda ticks=ticks: next(ticks),
            )
        )
        assert [delivery.accepted for delivery in sent] == [True, True]
        # Signed afresh at a later second, yet the same message: what a receiver deduplicates on.
        assert sent[0].prepared.timestamp != sent[1].prepared.timestamp
        assert len({ident(delivery) for delivery in sent}) == 1, provider


def test_default_secrets_fit_their_provider() -> None:
    assert default_secret("stripe") == "inspector-test-secret"
    bytes.fromhex(default_secret("adyen"))
    assert default_secret("standard-webhooks").startswith("whsec_")
    for provider in ("adyen", "standard-webhooks", "discord", "sendgrid", "aws-sns"):
        event = next(iter(catalogue(provider).events))
        prepare(provider, event, to="http://127.0.0.1:9/", secret=default_secret(provider), now=0)
    with pytest.raises(SimulatorError, match="hex"):
        prepare("adyen", "AUTHORISATION", to="http://127.0.0.1:9/", secret="not-hex", now=0)


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
        # Twilio posts a form: a field cannot hold an object.
        ("twilio", "message.received", ['MediaUrl0={"a": 1}'], "form: every field's value must be plain"),
        ("twilio", "message.received", ["Body.x=1"], "not an object"),
        ("sendgrid", "open", ["0.ip.x=1"], "not an object"),
    ],
)
def test_bad_input_is_explained(provider: str, event: str, sets: list[str], fragment: str) -> None:
    with pytest.raises(SimulatorError, match=fragment):
        prepare(provider, event, to="http://127.0.0.1:9/", secret=SECRET, now=0, sets=sets)


def test_set_on_a_form_and_on_an_array_of_events_is_signed() -> None:
    twilio = prepared_for("twilio", "message.received", sets=["Body=STOP", "NumMedia=1"])
    params = dict(parse_qsl(twilio.outbound.body.decode(), keep_blank_values=True))
    assert params["Body"] == "STOP"
    assert params["NumMedia"] == "1"
    headers = dict(twilio.outbound.headers)
    assert RequestValidator(SECRET).validate(twilio.outbound.url, params, headers["X-Twilio-Signature"])
    sendgrid = prepared_for("sendgrid", "bounce", sets=["0.reason=550 mailbox full"])
    [item] = json.loads(sendgrid.outbound.body)
    assert item["reason"] == "550 mailbox full"
    webhook = EventWebhook()
    headers = dict(sendgrid.outbound.headers)
    assert webhook.verify_signature(
        sendgrid.outbound.body.decode(),
        headers["X-Twilio-Email-Event-Webhook-Signature"],
        headers["X-Twilio-Email-Event-Webhook-Timestamp"],
        webhook.convert_public_key_to_ecdsa(sendgrid.verify_secret),
    )


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


def test_command_line_names_the_public_key_to_verify_with(
    client: httpx.Client, server: ServerProcess, bin_id: str
) -> None:
    done = run_cli("discord", "interaction.ping", "--to", f"{server.url}/b/{bin_id}")
    assert done.returncode == 0, done.stderr
    assert "signing with the test secret 'inspector-test-secret'" in done.stderr
    public_key = done.stderr.strip().splitlines()[-1]
    assert len(public_key) == 64
    [item] = client.get(f"/api/bins/{bin_id}/requests").json()["items"]
    assert verify(client, bin_id, str(item["id"]), "discord", public_key)["valid"] is True
    adyen = run_cli("adyen", "AUTHORISATION", "--to", f"{server.url}/b/{bin_id}")
    assert adyen.returncode == 0, adyen.stderr
    assert default_secret("adyen") in adyen.stderr


def test_sns_key_derived_from_the_secret_is_the_same_in_every_run() -> None:
    """The receiver under test is given the public key once: a second run must not need another."""

    def public_key(secret: str) -> str:
        # Nothing listens on port 9: the delivery fails, the key is still printed.
        done = run_cli(
            "aws-sns", "SubscriptionConfirmation", "--to", "http://127.0.0.1:9/", "--secret", secret
        )
        assert done.returncode == 1, done.stderr
        return done.stderr.split("public key:\n", 1)[1].split("-----END PUBLIC KEY-----")[0]

    first = public_key(SECRET)
    assert first.startswith("-----BEGIN PUBLIC KEY-----")
    assert public_key(SECRET) == first
    assert public_key(SECRET + "2") != first


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


def test_panel_shows_the_public_key_of_a_public_key_scheme(client: httpx.Client, bin_id: str) -> None:
    html = trigger_panel(client, bin_id, event="sendgrid/delivered")
    assert "✓" in html
    start = html.index('<pre class="public-key">') + len('<pre class="public-key">')
    public_key = html[start : html.index("</pre>", start)]
    assert public_key.startswith("MFkw")
    [item] = client.get(f"/api/bins/{bin_id}/requests").json()["items"]
    assert verify(client, bin_id, str(item["id"]), "sendgrid", public_key)["valid"] is True
    assert "public-key" not in trigger_panel(client, bin_id, event="github/ping")


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
