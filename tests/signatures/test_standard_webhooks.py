"""Standard Webhooks and Svix: signed with the standardwebhooks and svix SDKs, plus the spec's example."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
import svix.webhooks

from inspector.signatures import SignatureConfigError, standard_webhooks

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

# The example used by the Standard Webhooks and Svix libraries' own tests.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
EXAMPLE_TS = 1614265330
EXAMPLE_BODY = b'{"test": 2432232314}'
EXAMPLE_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def sdk_request(
    body: bytes = EXAMPLE_BODY, *, timestamp: int = NOW_TS, secret: str = SECRET, family: str = "webhook"
) -> object:
    signer = svix.webhooks.Webhook(secret) if family == "svix" else standardwebhooks.Webhook(secret)
    signature = signer.sign(MSG_ID, datetime.fromtimestamp(timestamp, tz=UTC), body.decode())
    headers = [
        (f"{family}-id", MSG_ID),
        (f"{family}-timestamp", str(timestamp)),
        (f"{family}-signature", signature),
    ]
    return make_request(body, headers, content_type="application/json")


def test_spec_example_verifies() -> None:
    headers = [
        ("webhook-id", MSG_ID),
        ("webhook-timestamp", str(EXAMPLE_TS)),
        ("webhook-signature", EXAMPLE_SIGNATURE),
    ]
    verdict = standard_webhooks.verify(make_request(EXAMPLE_BODY, headers), SECRET, EXAMPLE_TS)
    assert verdict.valid, verdict.reason
    assert verdict.signed_payload == f'{MSG_ID}.{EXAMPLE_TS}.{{"test": 2432232314}}'
    assert verdict.expected == EXAMPLE_SIGNATURE


def test_sdk_signed_request_verifies() -> None:
    verdict = standard_webhooks.verify(sdk_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason


def test_svix_headers_verify() -> None:
    verdict = standard_webhooks.verify(sdk_request(family="svix"), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.header == "svix-signature"


def test_tampered_body_fails() -> None:
    request = sdk_request()
    verdict = standard_webhooks.verify(make_request(tamper(EXAMPLE_BODY), request.headers), SECRET, NOW)
    assert not verdict.valid


def test_wrong_secret_fails() -> None:
    verdict = standard_webhooks.verify(sdk_request(), "whsec_" + "A" * 32, NOW)
    assert not verdict.valid


def test_stale_timestamp_fails_naming_skew_and_tolerance() -> None:
    verdict = standard_webhooks.verify(sdk_request(timestamp=NOW_TS - 400), SECRET, NOW)
    assert not verdict.valid
    assert (verdict.timestamp_skew, verdict.tolerance) == (400, 300)
    assert "400 s old, outside the tolerance of 300 s" in verdict.reason


def test_future_timestamp_fails_too() -> None:
    verdict = standard_webhooks.verify(sdk_request(timestamp=NOW_TS + 400), SECRET, NOW)
    assert not verdict.valid
    assert "400 s in the future" in verdict.reason


def test_any_of_several_signatures_may_match() -> None:
    request = sdk_request()
    headers = [
        (name, f"v1,bm90IGl0 v1a,c29tZXRoaW5n {value}" if name == "webhook-signature" else value)
        for name, value in request.headers
    ]
    assert standard_webhooks.verify(make_request(EXAMPLE_BODY, headers), SECRET, NOW).valid


def test_secret_that_is_not_base64_is_a_config_error() -> None:
    with pytest.raises(SignatureConfigError, match="base64"):
        standard_webhooks.verify(sdk_request(), "whsec_!!!", NOW)


def test_our_signature_passes_the_sdk_verifier() -> None:
    # The SDK checks against the real clock, so this one signs at the current time.
    now = int(time.time())
    signed = standard_webhooks.sign(EXAMPLE_BODY, SECRET, now, msg_id=MSG_ID)
    standardwebhooks.Webhook(SECRET).verify(EXAMPLE_BODY, dict(signed.headers))
    assert standard_webhooks.verify(from_signed(signed), SECRET, now).valid
    svix_signed = standard_webhooks.sign(EXAMPLE_BODY, SECRET, now, svix=True)
    svix.webhooks.Webhook(SECRET).verify(EXAMPLE_BODY, dict(svix_signed.headers))
