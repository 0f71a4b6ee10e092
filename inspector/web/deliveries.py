"""The delivery API: replay a capture (edited or not), list its attempts, set a bin's auto-forward."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.exceptions import ClientException

from inspector.deliveries import Deliveries
from inspector.models import Attempt, CapturedRequest
from inspector.replay import DeliveryResult, Overrides, Redirect, build_outbound
from inspector.targets import TargetRefused
from inspector.web.access import OWNER_ONLY
from inspector.web.api import existing_bin, existing_request, text_or_base64
from inspector.web.deps import BinsDep, Id, StoreDep

MAX_TIMEOUT = 120.0
MAX_FORWARD_TARGETS = 10


class ReplayIn(msgspec.Struct, forbid_unknown_fields=True):
    """Where to send a capture, and what to change on the way (everything else goes out as captured)."""

    # The base URL: the captured sub-path and query are appended (e.g. http://localhost:3000/hooks).
    target: str
    method: str | None = None
    # Replaces the captured sub-path (and the query, when it has a "?").
    path: str | None = None
    # Replaces the whole header list; set_headers and remove_headers then adjust it.
    headers: list[tuple[str, str]] | None = None
    set_headers: list[tuple[str, str]] = msgspec.field(default_factory=list)
    remove_headers: list[str] = msgspec.field(default_factory=list)
    body: str | None = None
    body_encoding: Literal["utf-8", "base64"] = "utf-8"
    follow_redirects: bool = False
    timeout: float | None = None


class ResultOut(msgspec.Struct):
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body_size: int
    status: int | None
    reason: str | None
    http_version: str | None
    response_headers: list[tuple[str, str]]
    response_body: str
    response_body_encoding: str
    response_body_truncated: bool
    redirects: list[Redirect]
    duration_ms: float
    error: str | None
    error_kind: str | None


class AttemptOut(msgspec.Struct):
    id: int
    request_id: int
    kind: str
    target: str
    started_at: datetime
    status: int | None
    error: str | None
    duration_ms: float
    result: ResultOut


class ForwardIn(msgspec.Struct, forbid_unknown_fields=True):
    targets: list[str]


class ForwardOut(msgspec.Struct):
    targets: list[str]


class ForwardJobOut(msgspec.Struct):
    """One auto-forward delivery as API clients see it (its claim and chain are the worker's business)."""

    request_id: int
    bin_id: str
    target: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None


def decode_result(attempt: Attempt) -> DeliveryResult:
    return msgspec.json.decode(attempt.result, type=DeliveryResult)


def attempt_out(attempt: Attempt) -> AttemptOut:
    result = decode_result(attempt)
    body, encoding = text_or_base64(result.response_body)
    return AttemptOut(
        id=attempt.id,
        request_id=attempt.request_id,
        kind=attempt.kind,
        target=attempt.target,
        started_at=attempt.started_at,
        status=attempt.status,
        error=attempt.error,
        duration_ms=attempt.duration_ms,
        result=ResultOut(
            method=result.method,
            url=result.url,
            request_headers=result.request_headers,
            request_body_size=result.request_body_size,
            status=result.status,
            reason=result.reason,
            http_version=result.http_version,
            response_headers=result.response_headers,
            response_body=body,
            response_body_encoding=encoding,
            response_body_truncated=result.response_body_truncated,
            redirects=result.redirects,
            duration_ms=result.duration_ms,
            error=result.error,
            error_kind=result.error_kind,
        ),
    )


def overrides(data: ReplayIn) -> Overrides:
    body = None
    if data.body is not None:
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
    path, query = data.path, None
    if path is not None and "?" in path:
        path, query = path.split("?", 1)
    return Overrides(
        method=data.method,
        path_suffix=path,
        query=query,
        headers=data.headers,
        set_headers=data.set_headers,
        remove_headers=data.remove_headers,
        body=body,
    )


async def replay(deliveries: Deliveries, captured: CapturedRequest, data: ReplayIn) -> Attempt:
    """Send a capture as asked; bad input is a 400, a failed delivery is a recorded attempt."""
    if data.timeout is not None and not 0 < data.timeout <= MAX_TIMEOUT:
        raise ClientException(f"timeout must be between 0 and {MAX_TIMEOUT:.0f} seconds")
    try:
        deliveries.policy.check_url(data.target)
        outbound = build_outbound(captured, data.target, overrides(data))
    except (ValueError, TargetRefused) as exc:
        raise ClientException(str(exc)) from None
    attempt, _ = await deliveries.send(
        captured,
        outbound,
        kind="replay",
        target=data.target,
        timeout=data.timeout,
        follow_redirects=data.follow_redirects,
    )
    return attempt


def checked_targets(deliveries: Deliveries, bin_id: str, targets: list[str]) -> list[str]:
    cleaned = [target.strip() for target in targets if target.strip()]
    for target in cleaned:
        path = urlsplit(target).path
        if path == f"/b/{bin_id}" or path.startswith(f"/b/{bin_id}/"):
            raise ClientException(f"{target}: a bin cannot forward to itself")
    if len(cleaned) > MAX_FORWARD_TARGETS:
        raise ClientException(f"at most {MAX_FORWARD_TARGETS} forward targets")
    for target in cleaned:
        try:
            deliveries.check_forward_target(target)
        except TargetRefused as exc:
            raise ClientException(f"{target}: {exc}") from None
    return list(dict.fromkeys(cleaned))


def deliveries_of(request: Request[Any, Any, Any]) -> Deliveries:
    return request.app.state.deliveries


class DeliveriesController(Controller):
    path = "/api/bins/{bin_id:str}"
    tags = ["replay and forwarding"]

    @post(
        "/requests/{request_id:int}/replay",
        status_code=200,
        summary="Replay a capture to a target",
        opt=OWNER_ONLY,
    )
    async def replay(
        self, request: Request[Any, Any, Any], store: StoreDep, bin_id: str, request_id: Id, data: ReplayIn
    ) -> AttemptOut:
        """Send the captured method, headers and exact body bytes to `target`, with optional edits.

        Hop-by-hop headers are dropped, Host is set for the target, Content-Length recomputed,
        redirects followed only when asked. The answer is the recorded attempt: the request as
        sent, the response (status, headers, body), the duration, and any error in plain words.
        """
        captured = await existing_request(store, bin_id, request_id)
        return attempt_out(await replay(deliveries_of(request), captured, data))

    @get("/requests/{request_id:int}/attempts", summary="Every replay and forward attempt of a capture")
    async def attempts(self, store: StoreDep, bin_id: str, request_id: Id) -> list[AttemptOut]:
        await existing_request(store, bin_id, request_id)
        return [attempt_out(attempt) for attempt in await store.list_attempts(bin_id, request_id)]

    @get("/requests/{request_id:int}/forwards", summary="Auto-forward delivery status of a capture")
    async def forwards(self, store: StoreDep, bin_id: str, request_id: Id) -> list[ForwardJobOut]:
        await existing_request(store, bin_id, request_id)
        return [
            ForwardJobOut(
                request_id=job.request_id,
                bin_id=job.bin_id,
                target=job.target,
                state=job.state,
                attempts=job.attempts,
                next_attempt_at=job.next_attempt_at,
                last_status=job.last_status,
                last_error=job.last_error,
            )
            for job in await store.forward_jobs(bin_id, request_id)
        ]

    @get("/forward", summary="Where the bin forwards each capture")
    async def get_forward(self, store: StoreDep, bin_id: str) -> ForwardOut:
        return ForwardOut(targets=(await existing_bin(store, bin_id)).forward_targets)

    @put("/forward", summary="Set the bin's auto-forward targets", opt=OWNER_ONLY)
    async def set_forward(
        self, request: Request[Any, Any, Any], store: StoreDep, bins: BinsDep, bin_id: str, data: ForwardIn
    ) -> ForwardOut:
        """Each new capture is delivered to every target in the background, retried with backoff
        on failure or 5xx; pending deliveries survive a restart. An empty list turns it off."""
        await existing_bin(store, bin_id)
        targets = checked_targets(deliveries_of(request), bin_id, data.targets)
        await store.set_forward_targets(bin_id, targets)
        await bins.changed(bin_id)
        return ForwardOut(targets=targets)
