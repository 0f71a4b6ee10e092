"""On-arrival signature checks: new captures of bins that remember a secret are verified in the background."""

from __future__ import annotations

import asyncio

import structlog

from inspector import signatures
from inspector.background import BackgroundTasks
from inspector.hub import Event, Hub
from inspector.models import BinSecret, CapturedRequest, SignatureCheck
from inspector.store import Store

log = structlog.get_logger(__name__)


def choose_secret(request: CapturedRequest, secrets: list[BinSecret]) -> BinSecret | None:
    """The remembered secret for the provider that sent this request; a generic secret otherwise."""
    by_provider = {secret.provider: secret for secret in secrets}
    detected = signatures.detect(request)
    if detected in by_provider:
        return by_provider[detected]
    return by_provider.get("generic")


def check(request: CapturedRequest, secret: BinSecret) -> SignatureCheck:
    # Judged as of arrival: a timestamp that was fresh when the request came stays fresh.
    try:
        verdict = signatures.verify(
            secret.provider, request, secret.secret, request.received_at, **secret.options
        )
    except signatures.SignatureConfigError as exc:
        return SignatureCheck(provider=secret.provider, valid=False, reason=str(exc))
    return SignatureCheck(provider=verdict.provider, valid=verdict.valid, reason=verdict.reason)


class AutoVerifier:
    """A background task: never on the capture path, so a slow check cannot delay a sender's 2xx."""

    def __init__(self, store: Store, hub: Hub) -> None:
        self._store = store
        self._hub = hub
        self._background = BackgroundTasks()

    def start(self) -> None:
        self._background.start(self._run(), "signature-auto-verify")

    async def stop(self) -> None:
        await self._background.stop()

    async def _run(self) -> None:
        while True:
            # A subscription that fell behind ends; the requests it missed stay unchecked.
            async with self._hub.subscribe_all() as events:
                async for event in events:
                    if event.kind == "request" and event.request_id is not None:
                        try:
                            await self._check(event.bin_id, event.request_id)
                        except Exception:
                            log.exception("on-arrival signature check failed", bin=event.bin_id)
            await asyncio.sleep(0.1)

    async def _check(self, bin_id: str, request_id: int) -> None:
        secrets = await self._store.get_secrets(bin_id)
        if not secrets:
            return
        request = await self._store.get_request(bin_id, request_id)
        if request is None or request.rejected:
            return
        secret = choose_secret(request, secrets)
        if secret is None:
            return
        await self._store.record_check(request_id, check(request, secret))
        await self._hub.publish(Event(kind="request_checked", bin_id=bin_id, request_id=request_id))
