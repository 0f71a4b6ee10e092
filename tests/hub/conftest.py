"""Hub fixtures: opened adapters of each kind, the Redis ones on a prefix no other test uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from conftest import REDIS_URL, require_service, unique_prefix

from inspector.hub import Hub
from inspector.hub.local import LocalHub
from inspector.hub.redis import RedisHub

MakeHub = Callable[..., Awaitable[Hub]]


@pytest.fixture(params=["local", "redis"])
async def make_hub(request: pytest.FixtureRequest) -> AsyncIterator[MakeHub]:
    """Makes opened hubs of the parametrized kind, all closed at the end.

    The Redis ones share one prefix, as the processes of one deployment would.
    """
    if request.param == "redis":
        require_service("Redis", 6379)
    prefix = unique_prefix()
    made: list[Hub] = []

    async def make(*, max_pending: int = 1000) -> Hub:
        hub: Hub = (
            LocalHub(max_pending=max_pending)
            if request.param == "local"
            else RedisHub(REDIS_URL, prefix=prefix, max_pending=max_pending)
        )
        await hub.open()
        made.append(hub)
        return hub

    yield make
    for hub in made:
        await hub.close()


@pytest.fixture
async def hub(make_hub: MakeHub) -> Hub:
    return await make_hub()
