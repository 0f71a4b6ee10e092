"""The signature API: verify a captured request, remember a bin's secrets, sign test requests."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.exceptions import ClientException, HTTPException, NotFoundException

from inspector import signatures
from inspector.autoverify import check
from inspector.bincache import BinCache
from inspector.hub import Event
from inspector.models import BinSecret, CapturedRequest
from inspector.signatures import SignatureConfigError, Verdict, aws_sns
from inspector.snscert import CertificateUnavailable, fetch_certificate
from inspector.store import Store
from inspector.targets import TargetPolicy
from inspector.web.access import OWNER_ONLY
from inspector.web.api import existing_bin, existing_request, text_or_base64
from inspector.web.deliveries import deliveries_of
from inspector.web.deps import BinsDep, HubDep, Id, StoreDep


class VerifyIn(msgspec.Struct, forbid_unknown_fields=True):
    # A provider name from GET /api/signatures/providers, or "auto" to detect it from the request.
    provider: str
    secret: str
    # Provider options, e.g. {"url": "https://public.example/hook"} for Twilio/Square behind a proxy,
    # {"tolerance": 0} to skip the timestamp window, or the generic HMAC's header/algorithm/encoding.
    options: dict[str, Any] = msgspec.field(default_factory=dict)
    # "arrival" judges timestamps as of when the request came in; "now" as of this call.
    at: Literal["arrival", "now"] = "arrival"
    # aws-sns only: fetch the certificate from the message's SigningCertURL (https, on an Amazon SNS
    # host, through this server's target policy) instead of giving it; the secret may then be empty.
    fetch_certificate: bool = False


class SecretIn(msgspec.Struct, forbid_unknown_fields=True):
    secret: str
    options: dict[str, Any] = msgspec.field(default_factory=dict)


class SecretOut(msgspec.Struct):
    provider: str
    # Never the secret itself: its length and last characters, to tell two apart.
    secret_hint: str
    options: dict[str, Any]
    updated_at: datetime


class SignIn(msgspec.Struct, forbid_unknown_fields=True):
    provider: str
    secret: str
    body: str = ""
    body_encoding: Literal["utf-8", "base64"] = "utf-8"
    # Unix seconds; now when omitted, so timestamped schemes pass their freshness window.
    timestamp: int | None = None
    options: dict[str, Any] = msgspec.field(default_factory=dict)


class SignOut(msgspec.Struct):
    provider: str
    headers: list[tuple[str, str]]
    body: str
    body_encoding: str
    signed_payload: str
    # Where the signature is valid, for schemes that sign the URL (Twilio adds bodySHA256 to it).
    url: str | None
    # What to verify with, for key-pair schemes (Discord, SendGrid): the public key.
    verify_secret: str | None


class ProviderOut(msgspec.Struct):
    name: str
    verify_options: list[str]
    sign_options: list[str]


def secret_out(secret: BinSecret) -> SecretOut:
    return SecretOut(
        provider=secret.provider,
        secret_hint=secret.hint,
        options=secret.options,
        updated_at=secret.updated_at,
    )


def run_verify(captured: CapturedRequest, data: VerifyIn) -> Verdict:
    now = captured.received_at if data.at == "arrival" else datetime.now(UTC)
    try:
        return signatures.verify(data.provider, captured, data.secret, now, **data.options)
    except SignatureConfigError as exc:
        raise ClientException(str(exc)) from None


async def with_fetched_certificate(
    captured: CapturedRequest, data: VerifyIn, policy: TargetPolicy
) -> VerifyIn:
    """The verify input with the certificate SigningCertURL serves, for an Amazon SNS message."""
    provider = data.provider.strip().lower()
    if provider == signatures.AUTO:
        provider = signatures.detect(captured) or provider
    if provider != aws_sns.NAME:
        raise ClientException(
            "fetch_certificate is for aws-sns messages; other providers have no certificate."
        )
    url = aws_sns.signing_cert_url(captured.body)
    if url is None:
        raise ClientException("The request is not an Amazon SNS message naming a SigningCertURL.")
    try:
        pem = await fetch_certificate(url, policy=policy)
    except CertificateUnavailable as exc:
        if exc.refused:
            raise ClientException(str(exc)) from None
        raise HTTPException(status_code=502, detail=str(exc)) from None
    options = {**data.options, "certificate": pem}
    return msgspec.structs.replace(data, provider=aws_sns.NAME, secret=data.secret or pem, options=options)


def checked_secret(provider: str, data: SecretIn) -> BinSecret:
    """A secret worth remembering: a known provider, a non-empty secret, options the provider takes."""
    if provider not in signatures.names():
        raise ClientException(f"Unknown provider {provider!r}; known: {', '.join(signatures.names())}.")
    if not data.secret.strip():
        raise ClientException("The secret is empty.")
    allowed = set(signatures.options(provider, "verify"))
    if unknown := sorted(set(data.options) - allowed):
        takes = ", ".join(sorted(allowed)) or "none"
        raise ClientException(f"{provider} takes no option {', '.join(unknown)}; it takes: {takes}.")
    return BinSecret(
        provider=provider, secret=data.secret, options=data.options, updated_at=datetime.now(UTC)
    )


async def remember(
    store: Store, bins: BinCache, hub: HubDep, bin_id: str, secret: BinSecret, captured: CapturedRequest
) -> None:
    """Store a bin's secret and re-check the request it was tried on, so its badge shows at once."""
    await store.set_secret(bin_id, secret)
    await bins.changed(bin_id)  # captures now need checking: every process must know
    await store.record_check(captured.id, check(captured, secret))
    await hub.announce(Event(kind="request_checked", bin_id=bin_id, request_id=captured.id))


class SignaturesController(Controller):
    path = "/api"
    tags = ["signatures"]

    @get("/signatures/providers", summary="Providers whose signatures can be checked")
    async def providers(self) -> list[ProviderOut]:
        return [
            ProviderOut(
                name=name,
                verify_options=signatures.options(name, "verify"),
                sign_options=signatures.options(name, "sign"),
            )
            for name in signatures.names()
        ]

    @post(
        "/bins/{bin_id:str}/requests/{request_id:int}/verify",
        status_code=200,
        summary="Check a signature",
        opt=OWNER_ONLY,
    )
    async def verify(
        self, request: Request[Any, Any, Any], store: StoreDep, bin_id: str, request_id: Id, data: VerifyIn
    ) -> Verdict:
        """Check the captured request's signature with a secret, on the exact bytes received.

        Answers 200 whatever the outcome: `valid`, the `provider` (the detected one for "auto"),
        and a `reason` in plain words, with the diagnosis (header used, exact signed payload,
        expected vs received, timestamp skew against the tolerance, hints at likely causes).
        Unknown providers, malformed secrets and unknown options are 400. With `fetch_certificate`
        (Amazon SNS), a SigningCertURL that is not Amazon's or not allowed is 400, one that cannot be
        fetched 502.
        """
        captured = await existing_request(store, bin_id, request_id)
        if data.fetch_certificate:
            data = await with_fetched_certificate(captured, data, deliveries_of(request).policy)
        return run_verify(captured, data)

    @get(
        "/bins/{bin_id:str}/secrets",
        summary="Secrets this bin remembers (never shown in full)",
        opt=OWNER_ONLY,
    )
    async def list_secrets(self, store: StoreDep, bin_id: str) -> list[SecretOut]:
        await existing_bin(store, bin_id)
        return [secret_out(secret) for secret in await store.get_secrets(bin_id)]

    @put(
        "/bins/{bin_id:str}/secrets/{provider:str}",
        summary="Remember a provider secret for this bin",
        opt=OWNER_ONLY,
    )
    async def set_secret(
        self, store: StoreDep, bins: BinsDep, bin_id: str, provider: str, data: SecretIn
    ) -> SecretOut:
        """From now on every request from this provider is checked on arrival; its row shows the verdict."""
        await existing_bin(store, bin_id)
        secret = checked_secret(provider, data)
        await store.set_secret(bin_id, secret)
        await bins.changed(bin_id)
        return secret_out(secret)

    @delete("/bins/{bin_id:str}/secrets/{provider:str}", summary="Forget a provider secret", opt=OWNER_ONLY)
    async def delete_secret(self, store: StoreDep, bins: BinsDep, bin_id: str, provider: str) -> None:
        await existing_bin(store, bin_id)
        if not await store.delete_secret(bin_id, provider):
            raise NotFoundException(f"Bin {bin_id!r} remembers no {provider} secret.")
        await bins.changed(bin_id)

    @post("/sign", status_code=200, summary="Sign a test request")
    async def sign(self, data: SignIn) -> SignOut:
        """Compute the headers a provider would send with this body, to test your own verifier."""
        return run_sign(data)


def run_sign(data: SignIn) -> SignOut:
    try:
        body = (
            base64.b64decode(data.body, validate=True)
            if data.body_encoding == "base64"
            else data.body.encode()
        )
    # b64decode refuses non-ASCII characters with ValueError, not binascii.Error: still the
    # client's mistake, not a server error.
    except (binascii.Error, ValueError):
        raise ClientException("body is not valid base64") from None
    timestamp = data.timestamp if data.timestamp is not None else int(datetime.now(UTC).timestamp())
    try:
        signed = signatures.sign(data.provider, body, data.secret, timestamp, **data.options)
    except SignatureConfigError as exc:
        raise ClientException(str(exc)) from None
    text, encoding = text_or_base64(signed.body)
    return SignOut(
        provider=signed.provider,
        headers=list(signed.headers),
        body=text,
        body_encoding=encoding,
        signed_payload=signed.signed_payload,
        url=signed.url,
        verify_secret=signed.verify_secret,
    )
