"""Discord: requests are signed with PyNaCl, which also checks our sign()."""

from __future__ import annotations

import nacl.signing
import pytest

from inspector.signatures import SignatureConfigError, discord

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SEED = bytes(range(32))
SIGNING_KEY = nacl.signing.SigningKey(SEED)
PUBLIC_KEY = SIGNING_KEY.verify_key.encode().hex()
BODY = b'{"type":1,"id":"786008729715212338","application_id":"1234"}'


def discord_request(
    body: bytes = BODY, *, timestamp: int = NOW_TS, key: nacl.signing.SigningKey = SIGNING_KEY
) -> object:
    signature = key.sign(str(timestamp).encode() + BODY).signature.hex()
    headers = [("X-Signature-Ed25519", signature), ("X-Signature-Timestamp", str(timestamp))]
    return make_request(body, headers, content_type="application/json")


def test_pynacl_signed_request_verifies() -> None:
    verdict = discord.verify(discord_request(), PUBLIC_KEY, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.signed_payload == f"{NOW_TS}{BODY.decode()}"
    assert verdict.expected is None


def test_tampered_body_fails() -> None:
    verdict = discord.verify(discord_request(tamper(BODY)), PUBLIC_KEY, NOW)
    assert not verdict.valid
    assert "does not verify" in verdict.reason


def test_other_applications_key_fails() -> None:
    other = nacl.signing.SigningKey(bytes(32)).verify_key.encode().hex()
    assert not discord.verify(discord_request(), other, NOW).valid


def test_stale_timestamp_fails_naming_skew_and_tolerance() -> None:
    verdict = discord.verify(discord_request(timestamp=NOW_TS - 301), PUBLIC_KEY, NOW)
    assert not verdict.valid
    assert (verdict.timestamp_skew, verdict.tolerance) == (301, 300)
    assert "301 s old" in verdict.reason


def test_private_key_instead_of_public_key_is_a_config_error() -> None:
    with pytest.raises(SignatureConfigError, match="PUBLIC KEY"):
        discord.verify(discord_request(), (SEED + bytes(SIGNING_KEY.verify_key)).hex(), NOW)


def test_our_signature_passes_pynacl() -> None:
    signed = discord.sign(BODY, SEED.hex(), NOW_TS)
    assert signed.verify_secret == PUBLIC_KEY
    headers = dict(signed.headers)
    SIGNING_KEY.verify_key.verify(
        headers["X-Signature-Timestamp"].encode() + BODY, bytes.fromhex(headers["X-Signature-Ed25519"])
    )
    assert discord.verify(from_signed(signed), PUBLIC_KEY, NOW).valid
