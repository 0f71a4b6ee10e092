"""Diagnosis: a failed check names the likely cause, proven by re-running it on a variant."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import standardwebhooks
import stripe
from twilio.request_validator import RequestValidator

from inspector.signatures import diagnose, verify

from .helpers import NOW, NOW_TS, make_request

EVENT = {"id": "evt_1", "type": "order.paid", "data": {"customer": "Zoë", "amount": 1999, "items": [1, 2]}}
COMPACT = json.dumps(EVENT, separators=(",", ":"), ensure_ascii=False).encode()
KEY = "shared-secret"


def github_signature(body: bytes, secret: str = KEY) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def one_hint(verdict: object, text: str) -> str:
    matching = [hint for hint in verdict.hints if text in hint]  # type: ignore[attr-defined]
    assert matching, verdict.hints  # type: ignore[attr-defined]
    return matching[0]


def test_json_re_serialized_in_transit_is_diagnosed() -> None:
    # Stripe signed compact JSON; a proxy re-encoded it pretty-printed.
    header = stripe.WebhookSignature.generate_signature_header(
        COMPACT.decode(), "whsec_abc", timestamp=NOW_TS
    )
    request = make_request(json.dumps(EVENT, indent=2).encode(), [("Stripe-Signature", header)])
    verdict = verify("stripe", request, "whsec_abc", NOW)
    assert not verdict.valid
    hint = one_hint(verdict, "re-serialized as compact JSON")
    assert "serialized it again" in hint


def test_python_default_separators_are_diagnosed() -> None:
    sent = json.dumps(EVENT).encode()
    request = make_request(COMPACT, [("X-Hub-Signature-256", github_signature(sent))])
    verdict = verify("github", request, KEY, NOW)
    one_hint(verdict, "default json.dumps separators")


def test_trailing_newline_is_diagnosed() -> None:
    request = make_request(COMPACT + b"\n", [("X-Hub-Signature-256", github_signature(COMPACT))])
    verdict = verify("github", request, KEY, NOW)
    assert verdict.hints[0].startswith("The signature matches the body with its trailing newline removed")


def test_hex_instead_of_base64_is_diagnosed() -> None:
    hex_signature = hmac.new(KEY.encode(), COMPACT, hashlib.sha256).hexdigest()
    request = make_request(COMPACT, [("X-Shopify-Hmac-Sha256", hex_signature)])
    verdict = verify("shopify", request, KEY, NOW)
    assert not verdict.valid
    one_hint(verdict, "right digest encoded as hex, but this provider sends base64")


def test_base64_instead_of_hex_is_diagnosed() -> None:
    digest = hmac.new(KEY.encode(), COMPACT, hashlib.sha256).digest()
    request = make_request(COMPACT, [("X-Hub-Signature-256", "sha256=" + base64.b64encode(digest).decode())])
    verdict = verify("github", request, KEY, NOW)
    one_hint(verdict, "encoded as base64, but this provider sends hex")


def test_missing_prefix_is_diagnosed() -> None:
    request = make_request(
        COMPACT, [("X-Hub-Signature-256", github_signature(COMPACT).removeprefix("sha256="))]
    )
    verdict = verify("github", request, KEY, NOW)
    one_hint(verdict, "lacks the 'sha256=' prefix")


def test_wrong_hash_algorithm_is_diagnosed_by_length() -> None:
    sha1 = hmac.new(KEY.encode(), COMPACT, hashlib.sha1).hexdigest()
    request = make_request(COMPACT, [("X-Hub-Signature-256", "sha256=" + sha1)])
    verdict = verify("github", request, KEY, NOW)
    one_hint(verdict, "size of a SHA-1 digest, but this provider uses SHA-256")


def test_whsec_secret_used_as_text_is_diagnosed() -> None:
    # The sender keyed its HMAC with the whsec_ string itself instead of the base64-decoded bytes.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    message = f"msg_1.{NOW_TS}.".encode() + COMPACT
    wrong = "v1," + base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
    headers = [("webhook-id", "msg_1"), ("webhook-timestamp", str(NOW_TS)), ("webhook-signature", wrong)]
    verdict = verify("standard-webhooks", make_request(COMPACT, headers), secret, NOW)
    assert not verdict.valid
    one_hint(verdict, "the key is the secret as plain text")


def test_stripe_secret_pasted_without_whsec_prefix_is_diagnosed() -> None:
    header = stripe.WebhookSignature.generate_signature_header(
        COMPACT.decode(), "whsec_abc123", timestamp=NOW_TS
    )
    verdict = verify("stripe", make_request(COMPACT, [("Stripe-Signature", header)]), "abc123", NOW)
    one_hint(verdict, "lacks the whsec_ prefix")


def test_base64_secret_decoded_by_the_sender_is_diagnosed() -> None:
    # A sender that base64-decodes what is, for GitHub, a plain-text secret.
    secret = base64.b64encode(b"raw key bytes!").decode()
    signature = "sha256=" + hmac.new(b"raw key bytes!", COMPACT, hashlib.sha256).hexdigest()
    verdict = verify("github", make_request(COMPACT, [("X-Hub-Signature-256", signature)]), secret, NOW)
    one_hint(verdict, "the key is the secret base64-decoded")


def test_sdk_whsec_secret_fed_to_a_text_key_scheme_is_diagnosed() -> None:
    # Standard Webhooks signs with the decoded secret; checking as generic text-key HMAC names the fix.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    signature = standardwebhooks.Webhook(secret).sign("msg_1", NOW, COMPACT.decode())
    headers = [("X-Sig", signature), ("X-Id", "msg_1"), ("X-Ts", str(NOW_TS))]
    options = {
        "header": "X-Sig",
        "encoding": "base64",
        "prefix": "v1,",
        "payload": "{header:X-Id}.{timestamp}.{body}",
        "timestamp_header": "X-Ts",
    }
    verdict = verify("generic", make_request(COMPACT, headers), secret, NOW, **options)
    one_hint(verdict, "base64-decoded (the part after whsec_)")
    assert verify(
        "generic", make_request(COMPACT, headers), secret, NOW, secret_encoding="base64", **options
    ).valid


def test_url_behind_a_proxy_is_diagnosed_from_forwarded_headers() -> None:
    public = "https://hooks.example.com/b/abc123/sms"
    params = {"From": "+15551234567", "Body": "hi"}
    signature = RequestValidator(KEY).compute_signature(public, params)
    headers = [
        ("X-Twilio-Signature", signature),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "hooks.example.com"),
    ]
    request = make_request(
        b"From=%2B15551234567&Body=hi",
        headers,
        url="http://127.0.0.1:8000/b/abc123/sms",
        content_type="application/x-www-form-urlencoded",
    )
    verdict = verify("twilio", request, KEY, NOW)
    assert not verdict.valid
    hint = one_hint(verdict, "The signature matches the URL https://hooks.example.com/b/abc123/sms")
    assert "url option" in hint


def test_url_mismatch_without_a_proven_variant_still_points_at_the_url_option() -> None:
    signature = base64.b64encode(
        hmac.new(KEY.encode(), b"https://elsewhere.example/x" + COMPACT, "sha256").digest()
    )
    request = make_request(COMPACT, [("x-square-hmacsha256-signature", signature.decode())])
    verdict = verify("square", request, KEY, NOW)
    one_hint(verdict, "pass the exact public URL")


def test_unexplained_failure_falls_back_to_general_advice() -> None:
    request = make_request(COMPACT, [("X-Hub-Signature-256", github_signature(COMPACT, "other"))])
    verdict = verify("github", request, KEY, NOW)
    one_hint(verdict, "The secret may be wrong")


def test_body_variants_skip_the_unchanged_body() -> None:
    variants = diagnose.body_variants(COMPACT)
    assert all(variant != COMPACT for _, variant, _ in variants)
    assert len({variant for _, variant, _ in variants}) == len(variants)
