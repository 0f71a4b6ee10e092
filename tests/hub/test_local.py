"""The in-process hub: what only it promises, beyond the contract every hub passes (test_contract.py)."""

from __future__ import annotations

from inspector.hub import Event
from inspector.hub.local import LocalHub

from .helpers import request


async def test_publishing_hands_the_event_over_before_it_returns() -> None:
    """In one process nothing travels: a publish has reached every queue when it returns."""
    hub = LocalHub()
    async with hub.subscribe("a") as subscription:
        await hub.publish(request("a", 1))
        assert subscription.queue.qsize() == 1  # type: ignore[attr-defined]


async def test_workers_get_a_captures_event_without_the_request_it_holds() -> None:
    """A bin's live views may render the capture an event holds; workers read the store, and their
    deeper queues (subscribe_all) must not keep bodies alive."""
    from datetime import UTC, datetime

    from inspector.models import CapturedRequest

    held = CapturedRequest(
        bin_id="a", method="POST", path="/b/a", sub_path="", query="", headers=[], body=b"{}", body_size=2,
        body_sha256=None, client_ip=None, client_port=None, host="h", scheme="http", http_version="1.1",
        received_at=datetime.now(UTC), id=3,
    )  # fmt: skip
    hub = LocalHub()
    event = Event(kind="request", bin_id="a", request_id=3, background=True, previous=2, captured=held)
    async with hub.subscribe("a") as page, hub.subscribe_all() as worker:
        await hub.publish(event)
        assert page.queue.get_nowait() is event  # type: ignore[attr-defined]
        to_worker = worker.queue.get_nowait()  # type: ignore[attr-defined]
    assert (to_worker.request_id, to_worker.previous, to_worker.captured) == (3, 2, None)
