"""How new captures become auto-forward jobs, whatever the database: the rules without the SQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from inspector.models import ForwardJob


def forward_jobs_for(
    captures: Iterable[tuple[int, str, list[str]]],
    pending: dict[str, int],
    *,
    now: datetime,
    max_pending: int,
) -> tuple[list[ForwardJob], dict[str, int]]:
    """The jobs for `captures` (request id, bin id, targets; oldest first), and each bin's new cursor.

    `pending` counts the jobs each bin has waiting already; a bin at `max_pending` gets its new jobs
    as failed ("queue full") rather than an unbounded queue.
    """
    pending = dict(pending)
    jobs: list[ForwardJob] = []
    cursors: dict[str, int] = {}
    for request_id, bin_id, targets in captures:
        cursors[bin_id] = max(request_id, cursors.get(bin_id, 0))
        # Unguessable, so that nobody can spend another chain's forwarding budget.
        origin = secrets.token_hex(16)
        for target in targets:
            full = pending.get(bin_id, 0) >= max_pending
            pending[bin_id] = pending.get(bin_id, 0) + (0 if full else 1)
            jobs.append(
                ForwardJob(
                    request_id=request_id,
                    bin_id=bin_id,
                    target=target,
                    state="failed" if full else "pending",
                    attempts=0,
                    next_attempt_at=now,
                    last_error=f"not sent: {max_pending} deliveries were already waiting" if full else None,
                    origin=origin,
                )
            )
    return jobs, cursors
