"""Sending captures on: a user's replay, and the background auto-forward worker; every attempt is recorded."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import structlog

from inspector.background import BackgroundTasks
from inspector.hub import Event, Hub
from inspector.models import Attempt, CapturedRequest, ForwardJob
from inspector.replay import (
    DeliveryResult,
    Outbound,
    Overrides,
    build_outbound,
    deliver,
    make_client,
    should_retry,
)
from inspector.store import Store
from inspector.targets import TargetPolicy

log = structlog.get_logger(__name__)

MAX_RETRY_DELAY = 300.0
# Bins forwarding to each other would loop forever: each forward counts a hop in this header.
HOPS_HEADER = "x-inspector-hops"
MAX_HOPS = 5
# Deliveries in flight at once across all bins: enough to fan out, few enough to stay polite.
CONCURRENCY = 16


class Deliveries:
    """Owns the outbound HTTP client, the target policy and the auto-forward worker."""

    def __init__(
        self,
        store: Store,
        hub: Hub,
        policy: TargetPolicy,
        *,
        timeout: float,
        retry_seconds: float,
        max_attempts: int,
        max_pending: int,
    ) -> None:
        self.store = store
        self.hub = hub
        self.policy = policy
        self.timeout = timeout
        self._retry_seconds = retry_seconds
        self._max_attempts = max_attempts
        self._max_pending = max_pending
        self._client: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()
        self._background = BackgroundTasks()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._client = make_client(self.policy)
        self._background.start(self._forward_loop(), "auto-forward")
        self._background.start(self._watch_captures(), "auto-forward-watch")

    async def stop(self) -> None:
        await self._background.stop()
        if self._client is not None:
            await self._client.aclose()

    # -- sending -------------------------------------------------------------------------

    async def send(
        self,
        captured: CapturedRequest,
        outbound: Outbound,
        *,
        kind: str,
        target: str,
        timeout: float | None = None,  # noqa: ASYNC109 - passed on to httpx, not a deadline of ours
        follow_redirects: bool = False,
    ) -> tuple[Attempt, DeliveryResult]:
        """Deliver one request and record the attempt (what was sent, what came back)."""
        result = await deliver(
            outbound,
            policy=self.policy,
            timeout=timeout or self.timeout,
            follow_redirects=follow_redirects,
            client=self._client,
        )
        attempt = Attempt(
            request_id=captured.id,
            bin_id=captured.bin_id,
            kind=kind,
            target=target,
            started_at=result.started_at,
            status=result.status,
            error=result.error,
            duration_ms=result.duration_ms,
            result=msgspec.json.encode(result),
        )
        attempt_id = await self.store.add_attempt(attempt)
        return msgspec.structs.replace(attempt, id=attempt_id), result

    # -- auto-forward ------------------------------------------------------------------------

    async def _watch_captures(self) -> None:
        # A capture to a forwarding bin wakes the worker at once; the store is still the queue.
        while True:
            async with self.hub.subscribe_all() as events:
                async for event in events:
                    if event.kind == "request":
                        bin = await self.store.get_bin(event.bin_id)
                        if bin is not None and bin.forward_targets:
                            self._wake.set()
            await asyncio.sleep(0.1)

    async def _forward_loop(self) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        busy: set[tuple[int, str]] = set()
        while True:
            try:
                now = datetime.now(UTC)
                for job in await self.store.enqueue_forwards(now=now, max_pending=self._max_pending):
                    if job.state == "failed":
                        await self._announce(job)
                room = CONCURRENCY - len(in_flight)
                if room > 0:
                    for job in await self.store.due_forward_jobs(now=now, limit=CONCURRENCY):
                        key = (job.request_id, job.target)
                        if key in busy or room <= 0:
                            continue
                        busy.add(key)
                        room -= 1
                        task = asyncio.create_task(self._attempt(job))
                        in_flight.add(task)
                        task.add_done_callback(lambda t, key=key: (in_flight.discard(t), busy.discard(key)))
                        task.add_done_callback(lambda _: self._wake.set())
                due = await self.store.next_forward_due()
            except Exception:
                log.exception("auto-forward step failed")
                due = None
            # Sleep until the next retry is due, a capture arrives, or a delivery ends; poll anyway.
            wait = 1.0 if due is None else min(1.0, max(0.0, (due - datetime.now(UTC)).total_seconds()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def _attempt(self, job: ForwardJob) -> None:
        captured = await self.store.get_request(job.bin_id, job.request_id)
        if captured is None:
            return  # deleted meanwhile: its jobs went with it
        attempts = job.attempts + 1
        raw_hops = captured.header(HOPS_HEADER) or "0"
        hops = int(raw_hops) if raw_hops.isdigit() else 0
        if hops >= MAX_HOPS:
            error = f"not sent: forwarding loop (this request already went through {hops} forwards)"
            await self._settle(job, attempts, state="failed", status=None, error=error)
            return
        try:
            outbound = build_outbound(
                captured, job.target, Overrides(set_headers=[(HOPS_HEADER, str(hops + 1))])
            )
        except ValueError as exc:
            await self._settle(job, attempts, state="failed", status=None, error=str(exc))
            return
        _, result = await self.send(captured, outbound, kind="forward", target=job.target)
        if result.error is None and not should_retry(result):
            await self._settle(job, attempts, state="delivered", status=result.status, error=None)
        elif attempts >= self._max_attempts or (result.error is not None and not should_retry(result)):
            await self._settle(job, attempts, state="failed", status=result.status, error=result.error)
        else:
            delay = min(self._retry_seconds * 2 ** (attempts - 1), MAX_RETRY_DELAY)
            await self._settle(
                job,
                attempts,
                state="pending",
                status=result.status,
                error=result.error,
                next_at=datetime.now(UTC) + timedelta(seconds=delay),
            )

    async def _settle(
        self,
        job: ForwardJob,
        attempts: int,
        *,
        state: str,
        status: int | None,
        error: str | None,
        next_at: datetime | None = None,
    ) -> None:
        updated = msgspec.structs.replace(
            job,
            state=state,
            attempts=attempts,
            last_status=status,
            last_error=error,
            next_attempt_at=next_at or job.next_attempt_at,
        )
        await self.store.update_forward_job(updated)
        await self._announce(updated)

    async def _announce(self, job: ForwardJob) -> None:
        await self.hub.publish(Event(kind="request_forwarded", bin_id=job.bin_id, request_id=job.request_id))
