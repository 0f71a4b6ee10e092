"""Sending captures on: a user's replay, and the background auto-forward worker; every attempt is recorded."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
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
from inspector.targets import TargetPolicy, TargetRefused, ThisServer

log = structlog.get_logger(__name__)

MAX_RETRY_DELAY = 300.0
# Bins forwarding to each other would loop forever: each forward counts a hop in this header.
HOPS_HEADER = "x-inspector-hops"
MAX_HOPS = 5
# Hops alone do not bound fan-out (4 bins forwarding to each other make 364 captures in 5
# hops), so forwards also carry the chain they belong to, and each chain has a budget.
ORIGIN_HEADER = "x-inspector-origin"
ORIGIN = re.compile(r"[A-Za-z0-9_-]{16,64}")
# A chain's count is kept this long after its last forward: far longer than any chain runs.
ORIGIN_MEMORY = timedelta(days=1)
FORGET_EVERY = timedelta(hours=1)
# Deliveries in flight at once across all bins: enough to fan out, few enough to stay polite.
CONCURRENCY = 16
# A claim outlasts the delivery timeout by this much: time to record the attempt and save the job.
LEASE_MARGIN = 60.0
# At shutdown, deliveries in flight get this long to finish before they are stopped and handed back.
STOP_GRACE = 5.0


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
        budget: int = 20,
        this_server: ThisServer | None = None,
        allow_self_forward: bool = False,
        observer: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.hub = hub
        self.policy = policy
        self.timeout = timeout
        self._retry_seconds = retry_seconds
        self._max_attempts = max_attempts
        self._max_pending = max_pending
        self._budget = budget
        self._this_server = this_server if not allow_self_forward else None
        self._lease = timeout + LEASE_MARGIN
        self._client: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()
        self._background = BackgroundTasks()
        # Told the outcome of every auto-forward attempt (delivered, retrying, failed), for metrics.
        self._observer = observer

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

    def check_forward_target(self, target: str) -> None:
        """Raise TargetRefused, saying why, for a target auto-forward may not deliver to."""
        self.policy.check_url(target)
        if self._this_server is not None and (why := self._this_server.reached_by(target)):
            raise TargetRefused(
                f"the target is this server ({why}); forwarding into its own bins can multiply "
                "requests (start the server with --allow-self-forward to allow it)"
            )

    # -- auto-forward ------------------------------------------------------------------------

    async def _watch_captures(self) -> None:
        # A capture to a forwarding bin wakes the worker at once; the store is still the queue.
        while True:
            async with self.hub.subscribe_all() as events:
                async for event in events:
                    # `background`: the bin forwards or checks; the store says which when claimed.
                    if event.kind == "request" and event.background:
                        self._wake.set()
            await asyncio.sleep(0.1)

    async def _forward_loop(self) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        forgotten = datetime.now(UTC)
        try:
            while True:
                try:
                    now = datetime.now(UTC)
                    for job in await self.store.enqueue_forwards(now=now, max_pending=self._max_pending):
                        if job.state == "failed":
                            await self._announce(job)
                    if now - forgotten > FORGET_EVERY:
                        await self.store.forget_forward_origins(before=now - ORIGIN_MEMORY)
                        forgotten = now
                    room = CONCURRENCY - len(in_flight)
                    if room > 0:
                        # The store hands each job to one claimer at a time: never delivered twice at once.
                        claimed = await self.store.claim_forward_jobs(
                            now=now, lease_seconds=self._lease, limit=room
                        )
                        for job in claimed:
                            task = asyncio.create_task(self._attempt(job))
                            in_flight.add(task)
                            task.add_done_callback(in_flight.discard)
                            task.add_done_callback(lambda _: self._wake.set())
                    # With every slot busy, the next delivery to end is what wakes the loop.
                    due = await self.store.next_forward_due() if len(in_flight) < CONCURRENCY else None
                except Exception:
                    log.exception("auto-forward step failed")
                    due = None
                # Sleep until the next retry is due, a capture arrives, or a delivery ends; poll anyway.
                wait = 1.0 if due is None else min(1.0, max(0.0, (due - datetime.now(UTC)).total_seconds()))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
        finally:
            # Shutting down: deliveries in flight may finish; the rest are stopped and hand their
            # jobs back (see _attempt), so that a restart retries them at once.
            if in_flight:
                await asyncio.wait(set(in_flight), timeout=STOP_GRACE)
            for task in set(in_flight):
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _attempt(self, job: ForwardJob) -> None:
        try:
            await self._deliver(job)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self.store.update_forward_job(job)  # unchanged: only the claim ends
            raise
        except Exception as exc:
            # A bug, or a store that failed: the job fails with the reason, once, rather than
            # being claimed again and again. Should even that fail, the claim runs out first.
            log.exception("auto-forward delivery broke", request_id=job.request_id, target=job.target)
            with contextlib.suppress(Exception):
                error = f"not sent: an internal error ({type(exc).__name__}; the server log has details)"
                await self._settle(job, job.attempts + 1, state="failed", status=None, error=error)

    def _origin(self, captured: CapturedRequest, job: ForwardJob) -> str:
        """The chain a capture belongs to: the one its sender (a forward) named, else its own."""
        named = captured.header(ORIGIN_HEADER)
        if named is not None and ORIGIN.fullmatch(named):
            return named
        return job.origin or f"{job.bin_id}-{job.request_id}"

    async def _deliver(self, job: ForwardJob) -> None:
        captured = await self.store.get_request(job.bin_id, job.request_id)
        if captured is None:
            return  # deleted meanwhile: its jobs went with it
        attempts = job.attempts + 1
        raw_hops = captured.header(HOPS_HEADER) or "0"
        hops = int(raw_hops) if raw_hops.isascii() and raw_hops.isdigit() else 0  # int("²") raises
        if hops >= MAX_HOPS:
            error = f"not sent: forwarding loop (this request already went through {hops} forwards)"
            await self._settle(job, attempts, state="failed", status=None, error=error)
            return
        origin = self._origin(captured, job)
        try:
            # Targets are checked when they are set; checked again here because the settings
            # (or this code) may have changed since, and no retry can fix a refused target.
            self.check_forward_target(job.target)
            outbound = build_outbound(
                captured,
                job.target,
                Overrides(set_headers=[(HOPS_HEADER, str(hops + 1)), (ORIGIN_HEADER, origin)]),
            )
        except (ValueError, TargetRefused) as exc:
            await self._settle(job, attempts, state="failed", status=None, error=f"not sent: {exc}")
            return
        # Retries of one job spend the budget once: it counts requests caused, not attempts.
        if job.attempts == 0 and not await self.store.take_forward_budget(
            origin, budget=self._budget, now=datetime.now(UTC)
        ):
            error = (
                f"not sent: the request that started this chain of forwards already caused "
                f"{self._budget} (the forward budget, --forward-budget)"
            )
            await self._settle(job, attempts, state="failed", status=None, error=error)
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
        if await self.store.update_forward_job(updated):
            if self._observer is not None:
                self._observer("retrying" if state == "pending" else state)
            await self._announce(updated)
        else:
            log.warning("auto-forward claim ran out before the delivery ended", request_id=job.request_id)

    async def _announce(self, job: ForwardJob) -> None:
        await self.hub.announce(Event(kind="request_forwarded", bin_id=job.bin_id, request_id=job.request_id))
