"""The in-process hub: what only it promises, beyond the contract every hub passes (test_contract.py)."""

from __future__ import annotations

from inspector.hub.local import LocalHub

from .helpers import request


async def test_publishing_hands_the_event_over_before_it_returns() -> None:
    """In one process nothing travels: a publish has reached every queue when it returns."""
    hub = LocalHub()
    async with hub.subscribe("a") as subscription:
        await hub.publish(request("a", 1))
        assert subscription.queue.qsize() == 1  # type: ignore[attr-defined]
