"""What the rate-limit tests share: the Redis they use, unique prefixes, and a clock moved by hand."""

from __future__ import annotations

import uuid

REDIS_URL = "redis://127.0.0.1:6379/0"


def unique_prefix() -> str:
    """A key prefix no other test uses."""
    return f"test-{uuid.uuid4().hex}"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
