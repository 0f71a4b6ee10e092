"""The registry in inspector.signatures: detection, "auto", names, options and errors."""

from __future__ import annotations

import hashlib
import hmac

import pytest

import inspector.signatures as signatures
from inspector.signatures import (
    ProviderNotDetectedError,
    SignatureConfigError,
    UnknownProviderError,
    detect,
    names,
    sign,
    verify,
)

from .helpers import NOW, NOW_TS, from_signed, make_request
from .test_aws_sns import PRIVATE_KEY as SNS_PRIVATE_KEY
from .test_sendgrid import PRIVATE_KEY as SENDGRID_PRIVATE_KEY

BODY = b'{"hello":"world"}'
# Options each provider needs to sign; the rest sign from body, secret and timestamp alone.
SIGN_OPTIONS: dict[str, dict[str, str]] = {
    "twilio": {"url": "https://inspector.example/b/abc123"},
    "square": {"url": "https://inspector.example/b/abc123"},
    "generic": {"header": "X-Signature"},
    "hubspot": {"url": "https://inspector.example/b/abc123"},
}
# The secret to sign with, when it is not the one to verify with.
SIGNING_SECRETS = {
    "discord": "1f" * 32,
    "sendgrid": SENDGRID_PRIVATE_KEY,
    "standard-webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "aws-sns": SNS_PRIVATE_KEY,
    # Adyen's key is hex.
    "adyen": "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056",
}


def test_names_lists_every_provider() -> None:
    assert set(names()) == {
        "github",
        "gitlab",
        "stripe",
        "slack",
        "shopify",
        "twilio",
        "standard-webhooks",
        "square",
        "paddle",
        "zoom",
        "linear",
        "discord",
        "sendgrid",
        "mailgun",
        "intercom",
        "bitbucket",
        "generic",
        "meta",
        "telegram",
        "woocommerce",
        "hubspot",
        "razorpay",
        "paystack",
        "typeform",
        "twitch",
        "mercadopago",
        "adyen",
        "vercel",
        "calendly",
        "xero",
        "dropbox",
        "aws-sns",
    }


@pytest.mark.parametrize("name", [name for name in names() if name != "generic"])
def test_each_provider_detects_and_verifies_its_own_signed_request(name: str) -> None:
    secret = SIGNING_SECRETS.get(name, "s3cret-for-tests")
    signed = sign(name, BODY, secret, NOW_TS, **SIGN_OPTIONS.get(name, {}))
    request = from_signed(signed)
    assert detect(request) == name
    verdict = verify("auto", request, signed.verify_secret or secret, NOW)
    assert verdict.provider == name
    assert verdict.valid, verdict.reason


def test_generic_is_never_detected_but_signs_and_verifies() -> None:
    signed = sign("generic", BODY, "k", NOW_TS, header="X-Custom-Sig")
    request = from_signed(signed)
    assert detect(request) is None
    assert verify("generic", request, "k", NOW, header="X-Custom-Sig").valid


def test_github_bitbucket_and_intercom_are_told_apart() -> None:
    sha1 = "sha1=" + hmac.new(b"k", BODY, hashlib.sha1).hexdigest()
    sha256 = "sha256=" + hmac.new(b"k", BODY, hashlib.sha256).hexdigest()
    assert detect(make_request(BODY, [("X-GitHub-Event", "ping"), ("X-Hub-Signature", sha1)])) == "github"
    assert (
        detect(make_request(BODY, [("X-Event-Key", "repo:push"), ("X-Hub-Signature", sha256)])) == "bitbucket"
    )
    assert detect(make_request(BODY, [("X-Hub-Signature", sha1)])) == "intercom"


def test_meta_is_told_apart_from_github_by_user_agent_or_body() -> None:
    sha256 = "sha256=" + hmac.new(b"k", BODY, hashlib.sha256).hexdigest()
    assert detect(make_request(BODY, [("X-Hub-Signature-256", sha256)])) == "github"
    meta_agent = [("User-Agent", "facebookexternalua"), ("X-Hub-Signature-256", sha256)]
    assert detect(make_request(BODY, meta_agent)) == "meta"
    page = b'{"object":"page","entry":[{"id":"1","time":1}]}'
    assert detect(make_request(page, [("X-Hub-Signature-256", sha256)])) == "meta"
    # GitHub's own headers win even over a Meta-shaped body.
    github_headers = [("X-GitHub-Event", "push"), ("X-Hub-Signature-256", sha256)]
    assert detect(make_request(page, github_headers)) == "github"


def test_auto_with_nothing_detected_is_a_clear_error() -> None:
    with pytest.raises(ProviderNotDetectedError, match="generic"):
        verify("auto", make_request(BODY, [("Content-Type", "application/json")]), "k", NOW)


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(UnknownProviderError, match="stripe") as caught:
        verify("strype", make_request(BODY), "k", NOW)
    assert isinstance(caught.value, SignatureConfigError)


def test_provider_names_are_case_insensitive() -> None:
    signed = sign("stripe", BODY, "whsec_x", NOW_TS)
    assert verify("Stripe", from_signed(signed), "whsec_x", NOW).valid


def test_unknown_option_is_a_config_error_naming_the_allowed_ones() -> None:
    with pytest.raises(SignatureConfigError, match="takes: tolerance"):
        verify("stripe", make_request(BODY), "whsec_x", NOW, url="https://x.example")


def test_none_options_mean_defaults() -> None:
    signed = sign("stripe", BODY, "whsec_x", NOW_TS)
    verdict = verify("stripe", from_signed(signed), "whsec_x", NOW, tolerance=None)
    assert verdict.valid
    assert verdict.tolerance == 300


def test_bad_tolerance_is_a_config_error() -> None:
    with pytest.raises(SignatureConfigError, match="tolerance"):
        verify("stripe", make_request(BODY), "whsec_x", NOW, tolerance="soon")


def test_now_may_be_unix_seconds() -> None:
    signed = sign("slack", BODY, "k", NOW_TS)
    assert verify("slack", from_signed(signed), "k", float(NOW_TS)).valid


def test_verdicts_encode_as_json() -> None:
    import msgspec

    signed = sign("github", BODY, "k", NOW_TS)
    encoded = msgspec.json.decode(msgspec.json.encode(verify("github", from_signed(signed), "k", NOW)))
    assert encoded["valid"] is True
    assert set(encoded) >= {"provider", "reason", "header", "signed_payload", "expected", "received", "hints"}


def test_every_module_exposes_the_same_interface() -> None:
    for name, provider in signatures.PROVIDERS.items():
        assert name == provider.NAME
        assert callable(provider.detect)
        assert callable(provider.verify)
        assert callable(provider.sign)
