"""The filtered scan both SQL adapters share: a bounded window of one bin's ids, matched row by row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from inspector.models import MAX_ID, RequestSummary
from inspector.search import FoundPage, RequestQuery, matches
from inspector.store import rows

# Rows read per statement: small, since each may carry its body.
CHUNK = 64

# fetch(low, high, newest_first, n): up to n rows of `rows.find_select` with low < id < high, in order.
Fetch = Callable[[int, int, bool, int], Awaitable[list[Any]]]


async def find(
    fetch: Fetch, query: RequestQuery, *, limit: int, before: int | None, after: int | None, scan: int
) -> FoundPage:
    """Walk the bin's ids from the cursor on (newest first below `before`, oldest first above `after`),
    through at most `scan` rows, keeping those that match. The walk follows the (bin_id, id) index,
    so its cost depends on `scan` and the page size, never on the bin's size."""
    newest_first = after is None
    low = after if after is not None else 0
    high = before if before is not None else MAX_ID
    wanted = limit + 1 if newest_first else limit  # one extra tells whether an older page exists
    items: list[RequestSummary] = []
    examined = 0
    last: int | None = None
    reached_end = False
    while examined < scan and len(items) < wanted:
        n = min(CHUNK, scan - examined)
        found = await fetch(low, high, newest_first, n)
        for row in found:
            examined += 1
            captured, summary = rows.found_from_row(row)
            last = captured.id
            if newest_first:
                high = last
            else:
                low = last
            if matches(query, captured, summary):
                items.append(summary)
                if len(items) == wanted:
                    break
        if len(found) < n and len(items) < wanted:
            reached_end = True
            break
    if not newest_first:
        return FoundPage(items=items, next=last if last is not None else after, more=not reached_end)
    if len(items) > limit:
        return FoundPage(items=items[:limit], next=items[limit - 1].id, more=True)
    if reached_end or last is None:
        return FoundPage(items=items, next=None)
    return FoundPage(items=items, next=last, more=True)
