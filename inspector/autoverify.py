"""On-arrival signature checks: new captures of bins that remember a secret are verified in the background."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog

from inspector import signatures
from inspector.background import BackgroundTasks
from inspector.hub import Event, Hub
from inspector.models import BinSecret, CapturedRequest, CheckJob, SignatureCheck
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
    """A background worker: never on the capture path, so a slow check cannot delay a sender's 2xx.

    Checks are jobs in the store, made from each bin's captures after its cursor and claimed one
    worker at a time: with any number of server processes, each capture is checked once, and a
    crash between a capture and its check loses nothing. Captures of bins with secrets wake the
    worker through the hub; it also looks every `poll` seconds, for what another process queued.
    """

    def __init__(self, store: Store, hub: Hub, *, poll: float = 2.0, lease_seconds: float = 30.0) -> None:
        self._store = store
        self._hub = hub
        self._poll = poll
        self._lease_seconds = lease_seconds
        self._wake = asyncio.Event()
        self._background = BackgroundTasks()

    def start(self) -> None:
        self._background.start(self._watch(), "signature-checks-wake")
        self._background.start(self._run(), "signature-checks")

    async def stop(self) -> None:
        await self._background.stop()

    async def _watch(self) -> None:
        while True:
            async with self._hub.subscribe_all() as events:
                async for event in events:
                    if event.kind == "request" and event.background:
                        self._wake.set()
            await asyncio.sleep(0.1)

    async def _run(self) -> None:
        while True:
            try:
                await self.work()
            except Exception:
                log.exception("on-arrival signature checks failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
            self._wake.clear()

    async def work(self) -> None:
        """Queue what arrived, then check every job this worker can claim."""
        await self._store.enqueue_checks()
        while jobs := await self._store.claim_check_jobs(
            now=datetime.now(UTC), lease_seconds=self._lease_seconds, limit=50
        ):
            for job in jobs:
                verdict = await self._verdict(job)
                if await self._store.complete_check_job(job, verdict) and verdict is not None:
                    await _announce(self._hub, job)

    async def _verdict(self, job: CheckJob) -> SignatureCheck | None:
        try:
            secrets = await self._store.get_secrets(job.bin_id)
            request = await self._store.get_request(job.bin_id, job.request_id)
            if request is None or request.rejected or not secrets:
                return None
            secret = choose_secret(request, secrets)
            return check(request, secret) if secret is not None else None
        except Exception:
            log.exception("on-arrival signature check failed", bin=job.bin_id, request=job.request_id)
            return None


async def _announce(hub: Hub, job: CheckJob) -> None:
    await hub.announce(Event(kind="request_checked", bin_id=job.bin_id, request_id=job.request_id))
