"""Signature checks over real HTTP: requests signed by each provider's own SDK go to a bin, then are verified.

Where a provider publishes no signer, the request follows its documented example or formula (noted per case).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import httpx
import nacl.signing
import pytest
import razorpay
import standardwebhooks
import stripe
from Adyen.util import generate_notification_sig
from conftest import ServerProcess, read_sse
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hubspot.utils.signature import Signature as HubSpotSignature
from paddle_billing.Notifications.PaddleSignature import PaddleSignature
from sendgrid.helpers.eventwebhook import EventWebhook
from slack_sdk.signature import SignatureVerifier
from square.utils.webhooks_helper import verify_signature as square_verify
from twilio.request_validator import RequestValidator


@dataclass
class Signed:
    headers: list[tuple[str, str]]
    body: bytes
    path: str = "/hook"
    query: str = ""
    options: dict = field(default_factory=dict)


def hexmac(key: str | bytes, message: bytes, algorithm=hashlib.sha256) -> str:
    return hmac.new(key.encode() if isinstance(key, str) else key, message, algorithm).hexdigest()


JSON_BODY = b'{"id":"evt_1","type":"test.event","data":{"amount":2000}}'


def github(secret: str, ts: int, url: str) -> Signed:
    # GitHub's documented example: this secret and payload give exactly this signature.
    assert secret == "It's a Secret to Everybody"
    return Signed(
        [("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")],
        b"Hello, World!",
    )


def gitlab(secret: str, ts: int, url: str) -> Signed:
    return Signed([("X-Gitlab-Token", secret), ("X-Gitlab-Event", "Push Hook")], JSON_BODY)


def stripe_case(secret: str, ts: int, url: str) -> Signed:
    header = stripe.WebhookSignature.generate_signature_header(JSON_BODY.decode(), secret, timestamp=ts)
    return Signed([("Stripe-Signature", header), ("Content-Type", "application/json")], JSON_BODY)


def slack(secret: str, ts: int, url: str) -> Signed:
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=JSON_BODY.decode())
    return Signed([("X-Slack-Request-Timestamp", str(ts)), ("X-Slack-Signature", signature)], JSON_BODY)


def shopify(secret: str, ts: int, url: str) -> Signed:
    # No Shopify SDK signs webhooks: the documented formula, base64 HMAC-SHA256 of the raw body.
    digest = base64.b64encode(hmac.new(secret.encode(), JSON_BODY, hashlib.sha256).digest()).decode()
    return Signed([("X-Shopify-Hmac-Sha256", digest), ("X-Shopify-Topic", "orders/create")], JSON_BODY)


FORM = urlencode({"CallSid": "CA123", "From": "+15550001111", "Body": "hello there"}).encode()


def twilio(secret: str, ts: int, url: str) -> Signed:
    signature = RequestValidator(secret).compute_signature(f"{url}/sms", dict(parse_qsl(FORM.decode())))
    return Signed(
        [("X-Twilio-Signature", signature), ("Content-Type", "application/x-www-form-urlencoded")],
        FORM,
        "/sms",
    )


def standard_webhooks(secret: str, ts: int, url: str) -> Signed:
    signature = standardwebhooks.Webhook(secret).sign(
        "msg_1", datetime.fromtimestamp(ts, UTC), JSON_BODY.decode()
    )
    return Signed(
        [("webhook-id", "msg_1"), ("webhook-timestamp", str(ts)), ("webhook-signature", signature)], JSON_BODY
    )


def square(secret: str, ts: int, url: str) -> Signed:
    # squareup has a verifier but no signer: signed with the documented formula, confirmed by the SDK.
    notification_url = f"{url}/square"
    signature = base64.b64encode(
        hmac.new(secret.encode(), notification_url.encode() + JSON_BODY, hashlib.sha256).digest()
    ).decode()
    assert square_verify(
        request_body=JSON_BODY.decode(),
        signature_header=signature,
        signature_key=secret,
        notification_url=notification_url,
    )
    return Signed([("x-square-hmacsha256-signature", signature)], JSON_BODY, "/square")


def paddle(secret: str, ts: int, url: str) -> Signed:
    digest = PaddleSignature.calculate_hmac(secret, f"{ts}:".encode() + JSON_BODY).hexdigest()
    return Signed([("Paddle-Signature", f"ts={ts};h1={digest}")], JSON_BODY)


def zoom(secret: str, ts: int, url: str) -> Signed:
    # Zoom publishes no SDK signer: the documented "v0:{timestamp}:{body}" HMAC-SHA256.
    signature = "v0=" + hexmac(secret, f"v0:{ts}:".encode() + JSON_BODY)
    return Signed([("x-zm-request-timestamp", str(ts)), ("x-zm-signature", signature)], JSON_BODY)


def linear(secret: str, ts: int, url: str) -> Signed:
    # @linear/sdk is npm-only: the documented HMAC-SHA256 of the body, whose webhookTimestamp is in ms.
    body = json.dumps({"action": "create", "type": "Issue", "webhookTimestamp": ts * 1000}).encode()
    return Signed([("Linear-Signature", hexmac(secret, body)), ("Linear-Event", "Issue")], body)


DISCORD_KEY = nacl.signing.SigningKey(bytes(range(32)))


def discord(secret: str, ts: int, url: str) -> Signed:
    signature = DISCORD_KEY.sign(str(ts).encode() + JSON_BODY).signature.hex()
    return Signed([("X-Signature-Ed25519", signature), ("X-Signature-Timestamp", str(ts))], JSON_BODY)


SENDGRID_KEY = ec.derive_private_key(123456789, ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(
    SENDGRID_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


def sendgrid(secret: str, ts: int, url: str) -> Signed:
    # The sendgrid SDK verifies but does not sign: signed with the key pair, confirmed by the SDK.
    signature = base64.b64encode(
        SENDGRID_KEY.sign(str(ts).encode() + JSON_BODY, ec.ECDSA(hashes.SHA256()))
    ).decode()
    assert EventWebhook(SENDGRID_PUBLIC).verify_signature(JSON_BODY.decode(), signature, str(ts))
    return Signed(
        [
            ("X-Twilio-Email-Event-Webhook-Signature", signature),
            ("X-Twilio-Email-Event-Webhook-Timestamp", str(ts)),
        ],
        JSON_BODY,
    )


def mailgun(secret: str, ts: int, url: str) -> Signed:
    token = "f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5"
    block = {"timestamp": str(ts), "token": token, "signature": hexmac(secret, f"{ts}{token}".encode())}
    body = json.dumps({"signature": block, "event-data": {"event": "delivered"}}).encode()
    return Signed([("Content-Type", "application/json")], body)


def intercom(secret: str, ts: int, url: str) -> Signed:
    return Signed([("X-Hub-Signature", "sha1=" + hexmac(secret, JSON_BODY, hashlib.sha1))], JSON_BODY)


def bitbucket(secret: str, ts: int, url: str) -> Signed:
    return Signed(
        [("X-Hub-Signature", "sha256=" + hexmac(secret, JSON_BODY)), ("X-Event-Key", "repo:push")], JSON_BODY
    )


GENERIC_OPTIONS = {
    "header": "X-Signature",
    "payload": "{timestamp}.{body}",
    "timestamp_header": "X-Timestamp",
    "tolerance": 300,
}


def generic(secret: str, ts: int, url: str) -> Signed:
    return Signed(
        [("X-Timestamp", str(ts)), ("X-Signature", hexmac(secret, f"{ts}.".encode() + JSON_BODY))],
        JSON_BODY,
        options=GENERIC_OPTIONS,
    )


def meta(secret: str, ts: int, url: str) -> Signed:
    body = b'{"object":"page","entry":[{"id":"1","time":1}]}'
    return Signed([("X-Hub-Signature-256", "sha256=" + hexmac(secret, body))], body)


def telegram(secret: str, ts: int, url: str) -> Signed:
    return Signed([("X-Telegram-Bot-Api-Secret-Token", secret)], JSON_BODY)


def b64mac(secret: str | bytes, message: bytes, algorithm=hashlib.sha256) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, message, algorithm).digest()).decode()


def woocommerce(secret: str, ts: int, url: str) -> Signed:
    return Signed([("X-WC-Webhook-Signature", b64mac(secret, JSON_BODY))], JSON_BODY)


def hubspot(secret: str, ts: int, url: str) -> Signed:
    stamp = str(ts * 1000)
    signature = HubSpotSignature.get_signature(
        secret, JSON_BODY.decode(), "v3", http_uri=f"{url}/hubspot", timestamp=stamp
    )
    headers = [("X-HubSpot-Signature-v3", signature), ("X-HubSpot-Request-Timestamp", stamp)]
    return Signed(headers, JSON_BODY, "/hubspot")


def razorpay_case(secret: str, ts: int, url: str) -> Signed:
    signature = hexmac(secret, JSON_BODY)
    # razorpay's SDK verifies but does not sign: confirmed with it.
    razorpay.Client(auth=("k", "s")).utility.verify_webhook_signature(JSON_BODY.decode(), signature, secret)
    return Signed([("X-Razorpay-Signature", signature)], JSON_BODY)


def paystack(secret: str, ts: int, url: str) -> Signed:
    return Signed([("x-paystack-signature", hexmac(secret, JSON_BODY, hashlib.sha512))], JSON_BODY)


def typeform(secret: str, ts: int, url: str) -> Signed:
    return Signed([("Typeform-Signature", "sha256=" + b64mac(secret, JSON_BODY))], JSON_BODY)


def twitch(secret: str, ts: int, url: str) -> Signed:
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")
    signature = "sha256=" + hexmac(secret, b"msg-1" + stamp.encode() + JSON_BODY)
    headers = [
        ("Twitch-Eventsub-Message-Id", "msg-1"),
        ("Twitch-Eventsub-Message-Timestamp", stamp),
        ("Twitch-Eventsub-Message-Signature", signature),
    ]
    return Signed(headers, JSON_BODY)


def mercadopago(secret: str, ts: int, url: str) -> Signed:
    manifest = f"id:pay123;request-id:req-1;ts:{ts};".encode()
    headers = [("x-signature", f"ts={ts},v1={hexmac(secret, manifest)}"), ("x-request-id", "req-1")]
    return Signed(headers, JSON_BODY, query="data.id=PAY123&type=payment", options={"tolerance": 300})


ADYEN_ITEM = {
    "amount": {"currency": "EUR", "value": 1130},
    "eventCode": "AUTHORISATION",
    "merchantAccountCode": "TestMerchant",
    "merchantReference": "order-1",
    "pspReference": "7914073381342284",
    "success": "true",
}


def adyen(secret: str, ts: int, url: str) -> Signed:
    item = {**ADYEN_ITEM, "additionalData": {}}
    item["additionalData"]["hmacSignature"] = generate_notification_sig(item, secret).decode()
    body = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}).encode()
    return Signed([("Content-Type", "application/json")], body)


def vercel(secret: str, ts: int, url: str) -> Signed:
    return Signed([("x-vercel-signature", hexmac(secret, JSON_BODY, hashlib.sha1))], JSON_BODY)


def calendly(secret: str, ts: int, url: str) -> Signed:
    signature = hexmac(secret, f"{ts}.".encode() + JSON_BODY)
    return Signed([("Calendly-Webhook-Signature", f"t={ts},v1={signature}")], JSON_BODY)


def xero(secret: str, ts: int, url: str) -> Signed:
    return Signed([("x-xero-signature", b64mac(secret, JSON_BODY))], JSON_BODY)


def dropbox(secret: str, ts: int, url: str) -> Signed:
    return Signed([("X-Dropbox-Signature", hexmac(secret, JSON_BODY))], JSON_BODY)


SNS_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def aws_sns(secret: str, ts: int, url: str) -> Signed:
    # Amazon's documented canonical string of a Notification, signed with our key (SignatureVersion 2).
    fields = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
        "Message": "Hello",
        "Timestamp": datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    canonical = "".join(
        f"{name}\n{fields[name]}\n" for name in ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
    )
    signature = SNS_KEY.sign(canonical.encode(), padding.PKCS1v15(), hashes.SHA256())
    fields |= {
        "SignatureVersion": "2",
        "Signature": base64.b64encode(signature).decode(),
        "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-x.pem",
    }
    headers = [("x-amz-sns-message-type", "Notification"), ("Content-Type", "text/plain; charset=UTF-8")]
    return Signed(headers, json.dumps(fields).encode(), options={"tolerance": 300})


@dataclass
class Case:
    make: Callable[[str, int, str], Signed]
    secret: str
    wrong_secret: str
    timestamped: bool = False
    # Schemes whose signature does not cover the body (a shared token; Mailgun's timestamp+token).
    body_signed: bool = True


CASES = {
    "github": Case(github, "It's a Secret to Everybody", "It's a secret to nobody"),
    "gitlab": Case(gitlab, "gitlab-token-123", "another-token", body_signed=False),
    "stripe": Case(
        stripe_case, "whsec_3gMtuBLQ6A8Jm1Gs9SnDYZcRbyYn4lN2", "whsec_wrongwrongwrongwrong", timestamped=True
    ),
    "slack": Case(
        slack, "8f742231b10e8888abcd99yyyzzz85a5", "0000000000000000000000000000000f", timestamped=True
    ),
    "shopify": Case(shopify, "shpss_hush", "shpss_other"),
    "twilio": Case(twilio, "12345678901234567890123456789012", "00000000000000000000000000000000"),
    "standard-webhooks": Case(
        standard_webhooks,
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        timestamped=True,
    ),
    "square": Case(square, "square-signature-key", "not-the-key"),
    "paddle": Case(
        paddle, "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uF", "pdl_ntfset_other", timestamped=True
    ),
    "zoom": Case(zoom, "zoom-secret-token", "wrong-token", timestamped=True),
    "linear": Case(linear, "lin_wh_secret", "lin_wh_other", timestamped=True),
    "discord": Case(
        discord,
        DISCORD_KEY.verify_key.encode().hex(),
        nacl.signing.SigningKey(bytes(32)).verify_key.encode().hex(),
        timestamped=True,
    ),
    "sendgrid": Case(
        sendgrid,
        SENDGRID_PUBLIC,
        base64.b64encode(
            ec.derive_private_key(42, ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).decode(),
        timestamped=True,
    ),
    "mailgun": Case(mailgun, "key-mailgun-signing", "key-other", timestamped=True, body_signed=False),
    "intercom": Case(intercom, "intercom-client-secret", "other-secret"),
    "bitbucket": Case(bitbucket, "bitbucket-secret", "other-secret"),
    "generic": Case(generic, "generic-secret", "other-secret", timestamped=True),
    "meta": Case(meta, "meta-app-secret", "meta-verify-token"),
    "telegram": Case(telegram, "Telegram_Secret-1", "Other_Secret", body_signed=False),
    "woocommerce": Case(woocommerce, "wc-secret", "ck_other"),
    "hubspot": Case(hubspot, "hubspot-client-secret", "other-secret", timestamped=True),
    "razorpay": Case(razorpay_case, "rzp-webhook-secret", "rzp-other"),
    "paystack": Case(paystack, "sk_test_paystack", "sk_test_other"),
    "typeform": Case(typeform, "typeform-secret", "typeform-other"),
    "twitch": Case(twitch, "twitch-subscription-secret", "twitch-other-secret", timestamped=True),
    # Mercado Pago signs data.id from the URL, its request id and ts, not the body.
    "mercadopago": Case(mercadopago, "mp-secret", "mp-other", timestamped=True, body_signed=False),
    # Adyen and Amazon SNS sign fields of the body, not its bytes: a flipped byte breaks the JSON.
    "adyen": Case(adyen, "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056", "AB" * 32),
    "vercel": Case(vercel, "vercel-secret", "vercel-other"),
    "calendly": Case(calendly, "calendly-signing-key", "calendly-other", timestamped=True),
    "xero": Case(xero, "xero-webhooks-key", "xero-other"),
    "dropbox": Case(dropbox, "dropbox-app-secret", "dropbox-other"),
    "aws-sns": Case(
        aws_sns,
        public_pem(SNS_KEY),
        public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        timestamped=True,
    ),
}


def send(
    client: httpx.Client, server: ServerProcess, bin_id: str, signed: Signed, body: bytes | None = None
) -> int:
    url = f"/b/{bin_id}{signed.path}" + (f"?{signed.query}" if signed.query else "")
    response = client.post(url, content=signed.body if body is None else body, headers=signed.headers)
    assert response.status_code == 200
    return int(response.headers["x-inspector-request-id"])


def verify(
    client: httpx.Client, bin_id: str, request_id: int, provider: str, secret: str, options: dict
) -> dict:
    response = client.post(
        f"/api/bins/{bin_id}/requests/{request_id}/verify",
        json={"provider": provider, "secret": secret, "options": options},
    )
    assert response.status_code == 200, response.text
    return response.json()


def tampered(body: bytes) -> bytes:
    return body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]


@pytest.mark.parametrize("provider", CASES)
def test_each_provider_over_http(
    server: ServerProcess, client: httpx.Client, bin_id: str, provider: str
) -> None:
    case = CASES[provider]
    now = int(time.time())
    signed = case.make(case.secret, now, f"{server.url}/b/{bin_id}")

    good = send(client, server, bin_id, signed)
    verdict = verify(client, bin_id, good, provider, case.secret, signed.options)
    assert verdict["valid"] is True, verdict
    assert verdict["provider"] == provider
    if provider != "generic":  # a generic HMAC cannot be told apart from any other header
        assert verify(client, bin_id, good, "auto", case.secret, signed.options)["provider"] == provider

    wrong = verify(client, bin_id, good, provider, case.wrong_secret, signed.options)
    assert wrong["valid"] is False
    assert wrong["reason"]

    if case.body_signed:
        bad = send(client, server, bin_id, signed, body=tampered(signed.body))
        verdict = verify(client, bin_id, bad, provider, case.secret, signed.options)
        assert verdict["valid"] is False
        assert verdict["reason"]
        assert verdict["received"] != verdict["expected"] or verdict["expected"] is None

    if case.timestamped:
        stale = case.make(case.secret, now - 3600, f"{server.url}/b/{bin_id}")
        old = send(client, server, bin_id, stale)
        verdict = verify(client, bin_id, old, provider, case.secret, stale.options)
        assert verdict["valid"] is False
        assert verdict["timestamp_skew"] >= 3600 - 5
        assert str(int(verdict["tolerance"])) in verdict["reason"]


def test_unsigned_bodies_are_diagnosed(server: ServerProcess, client: httpx.Client, bin_id: str) -> None:
    secret = "It's a Secret to Everybody"
    event = {"action": "opened", "number": 7, "items": [1, 2]}
    compact = json.dumps(event, separators=(",", ":")).encode()
    signature = "sha256=" + hexmac(secret, compact)
    # The sender signed the compact JSON, something in between pretty-printed it.
    reencoded = send(
        client,
        server,
        bin_id,
        Signed([("X-Hub-Signature-256", signature)], json.dumps(event, indent=2).encode()),
    )
    verdict = verify(client, bin_id, reencoded, "github", secret, {})
    assert verdict["valid"] is False
    assert any("serialized it again" in hint for hint in verdict["hints"])
    assert verdict["signed_payload"] == json.dumps(event, indent=2)  # shown, not guessed

    as_base64 = (
        "sha256=" + base64.b64encode(hmac.new(secret.encode(), compact, hashlib.sha256).digest()).decode()
    )
    encoded = send(client, server, bin_id, Signed([("X-Hub-Signature-256", as_base64)], compact))
    verdict = verify(client, bin_id, encoded, "github", secret, {})
    assert any("encoded as base64, but this provider sends hex" in hint for hint in verdict["hints"])


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"provider": "nosuch", "secret": "x"}, "Unknown provider"),
        ({"provider": "discord", "secret": "not-hex"}, "hex"),
        ({"provider": "stripe", "secret": "whsec_x", "options": {"colour": "red"}}, "colour"),
        ({"provider": "stripe"}, "secret"),
    ],
)
def test_bad_verify_input_is_400(client: httpx.Client, bin_id: str, payload: dict, fragment: str) -> None:
    request_id = int(client.post(f"/b/{bin_id}", content=b"{}").headers["x-inspector-request-id"])
    response = client.post(f"/api/bins/{bin_id}/requests/{request_id}/verify", json=payload)
    assert response.status_code == 400
    assert fragment.lower() in response.text.lower()


def test_auto_with_nothing_to_detect_is_400(client: httpx.Client, bin_id: str) -> None:
    request_id = int(client.post(f"/b/{bin_id}", content=b"{}").headers["x-inspector-request-id"])
    response = client.post(
        f"/api/bins/{bin_id}/requests/{request_id}/verify", json={"provider": "auto", "secret": "s"}
    )
    assert response.status_code == 400


def test_remembered_secret_checks_each_request_on_arrival(
    server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    secret = CASES["stripe"].secret
    saved = client.put(f"/api/bins/{bin_id}/secrets/stripe", json={"secret": secret})
    assert saved.status_code == 200
    assert secret not in saved.text
    assert saved.json()["secret_hint"].endswith("lN2")
    listed = client.get(f"/api/bins/{bin_id}/secrets").json()
    assert [s["provider"] for s in listed] == ["stripe"]
    assert secret not in json.dumps(listed)

    now = int(time.time())
    with httpx.stream("GET", f"{server.url}/api/bins/{bin_id}/stream", timeout=10) as stream:
        good = send(client, server, bin_id, stripe_case(secret, now, ""))
        bad = send(client, server, bin_id, stripe_case(CASES["stripe"].wrong_secret, now, ""))
        unsigned = send(client, server, bin_id, Signed([], b"{}"))
        checks = {}
        for event in read_sse(stream):
            if event.get("event") == "request_checked":
                data = json.loads(event["data"])
                checks[data["request_id"]] = data["signature"]
                if len(checks) == 2:
                    break
    assert checks[good]["valid"] is True
    assert checks[bad]["valid"] is False
    assert unsigned not in checks
    items = {item["id"]: item for item in client.get(f"/api/bins/{bin_id}/requests").json()["items"]}
    assert items[good]["signature"] == {"provider": "stripe", "valid": True, "reason": checks[good]["reason"]}
    assert items[bad]["signature"]["valid"] is False
    assert items[unsigned]["signature"] is None

    assert client.delete(f"/api/bins/{bin_id}/secrets/stripe").status_code == 204
    later = send(client, server, bin_id, stripe_case(secret, now, ""))
    time.sleep(0.3)
    assert client.get(f"/api/bins/{bin_id}/requests").json()["items"][0]["id"] == later
    assert client.get(f"/api/bins/{bin_id}/requests").json()["items"][0]["signature"] is None


def test_secret_input_is_validated(client: httpx.Client, bin_id: str) -> None:
    assert client.put(f"/api/bins/{bin_id}/secrets/nosuch", json={"secret": "x"}).status_code == 400
    assert client.put(f"/api/bins/{bin_id}/secrets/stripe", json={"secret": "  "}).status_code == 400
    response = client.put(
        f"/api/bins/{bin_id}/secrets/stripe", json={"secret": "whsec_x", "options": {"nope": 1}}
    )
    assert response.status_code == 400
    assert "tolerance" in response.text
    assert client.delete(f"/api/bins/{bin_id}/secrets/github").status_code == 404


def test_sign_api_output_passes_the_providers_own_verifier(
    server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    secret = CASES["stripe"].secret
    body = '{"id": "evt_test", "object": "event"}'
    signed = client.post("/api/sign", json={"provider": "stripe", "secret": secret, "body": body})
    assert signed.status_code == 200
    out = signed.json()
    headers = dict(out["headers"])
    event = stripe.Webhook.construct_event(
        out["body"], headers["Stripe-Signature"], secret
    )  # raises if invalid
    assert event["id"] == "evt_test"

    request_id = send(client, server, bin_id, Signed(out["headers"], out["body"].encode()))
    assert verify(client, bin_id, request_id, "stripe", secret, {})["valid"] is True

    standard = client.post(
        "/api/sign",
        json={"provider": "standard-webhooks", "secret": CASES["standard-webhooks"].secret, "body": body},
    ).json()
    standardwebhooks.Webhook(CASES["standard-webhooks"].secret).verify(body, dict(standard["headers"]))

    assert client.post("/api/sign", json={"provider": "nosuch", "secret": "x"}).status_code == 400
    providers = client.get("/api/signatures/providers").json()
    assert {p["name"] for p in providers} >= set(CASES)
