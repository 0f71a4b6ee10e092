"""The storage interface every database adapter implements; the rest of the code knows only this."""

from __future__ import annotations

import abc
from collections.abc import Callable
from datetime import datetime

import msgspec

from inspector.models import (
    Attempt,
    Bin,
    BinChanges,
    BinSecret,
    CapturedRequest,
    CheckJob,
    ForwardJob,
    RequestSummary,
    SignatureCheck,
)
from inspector.search import SCAN_WINDOW, FoundPage, RequestQuery


class BinExists(Exception):
    """A bin with the requested id already exists."""


class BinNotFound(Exception):
    """The bin does not exist (or was deleted while a request for it was in flight)."""


class StoreUnavailable(Exception):
    """The database cannot do what was asked now (disk full, I/O error, shutdown); nothing changed."""


class StoreLocked(Exception):
    """Another process holds the database, and this adapter allows one process only."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Webhook Inspector than this one: it is not opened.

    Its tables may mean things this code does not know about, so writing to them could corrupt them.
    """

    def __init__(self, database: str, current: int, known: int) -> None:
        super().__init__(
            f"{database}: the database schema is at version {current}, newer than the {known} this"
            " version of Webhook Inspector knows. Upgrade Webhook Inspector, or point it at another"
            " database (to go back to an older version, restore a backup taken before the upgrade:"
            " docs/operations.md)"
        )
        self.current = current
        self.known = known


class StoreClosed(StoreUnavailable):
    """The store is shutting down and takes no more writes."""


class TooManyBins(Exception):
    """The creator already has as many live bins as the cap allows."""


class Stored(msgspec.Struct, frozen=True, kw_only=True):
    """Where a committed capture landed: its id, and the id of its bin's capture committed just
    before it (None when the adapter cannot say). With `previous` equal to the last id a live view
    sent, that view can take the capture as its next row: no commit of the bin lies between."""

    id: int
    previous: int | None = None


class Store(abc.ABC):
    """Bins and their captured requests, kept durably.

    `add_request` returns only once the request is committed: the capture path relies on it
    to answer 2xx only for requests that will survive a crash.
    """

    # Told of every group commit of captures: (captures written, seconds it took), for metrics.
    commit_observer: Callable[[int, float], None] | None = None

    def _observe_commit(self, size: int, seconds: float) -> None:
        if self.commit_observer is not None:
            self.commit_observer(size, seconds)

    @abc.abstractmethod
    async def queue_depths(self) -> dict[str, int]:
        """Work waiting now: captures queued for this process's writer ("commit"), forward jobs
        pending ("forward") and signature check jobs waiting ("check") in the whole store."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect, apply pending schema migrations and start background writers."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Commit what is queued, then release every connection."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""

    @abc.abstractmethod
    async def check_writes(self) -> None:
        """Raise StoreUnavailable if the database cannot commit a write now (for health checks)."""

    @abc.abstractmethod
    async def create_bin(self, bin: Bin, *, creator_cap: int | None = None) -> None:
        """Store a new bin; raise BinExists if its id is taken.

        With `creator_cap`, raise TooManyBins instead when `bin.creator_ip` already has that many
        live bins: counted and created in one step, so concurrent creations cannot pass the cap.
        """

    @abc.abstractmethod
    async def get_bin(self, bin_id: str) -> Bin | None: ...

    @abc.abstractmethod
    async def update_bin(self, bin_id: str, changes: BinChanges) -> Bin | None:
        """Change only the settings `changes` sets, in one statement; the bin as it is now, or None
        if there is no such bin. A changed `max_requests` applies at once: the bin's oldest requests
        past the new limit are deleted in the same step."""

    @abc.abstractmethod
    async def upsert_bin(self, bin: Bin) -> None:
        """Create the bin or, if its id exists, replace its settings (all but its id, creation time and
        creator) in one atomic step: processes that declare the same fixed bins may start together."""

    @abc.abstractmethod
    async def expired_bins(self, now: datetime, *, limit: int) -> list[str]: ...

    @abc.abstractmethod
    async def count_bins_by_creator(self, creator_ip: str, now: datetime) -> int:
        """Live bins made from one address, for the per-client cap."""

    @abc.abstractmethod
    async def stored_bytes(self) -> int:
        """Body bytes stored across all bins."""

    @abc.abstractmethod
    async def free_bytes(self, excess: int, *, limit: int) -> int:
        """Delete the server's oldest requests until `excess` body bytes are freed (at most `limit`
        requests in one call); returns how many went."""

    @abc.abstractmethod
    async def delete_bin(self, bin_id: str) -> bool:
        """Delete a bin with all its requests; False if there was no such bin."""

    @abc.abstractmethod
    async def add_request(self, request: CapturedRequest) -> int:
        """Commit a captured request and return its id, assigned by the database.

        Within one bin, ids grow in commit order, whatever the number of processes writing: so
        "everything of this bin after id N" is a complete catch-up for a client that has seen N.
        (Across bins no order is promised.) Raises BinNotFound if the bin is gone, StoreClosed on
        shutdown, StoreUnavailable if the database cannot take the write.
        """

    async def add_capture(self, request: CapturedRequest) -> Stored:
        """As `add_request`, and say which capture of the bin was committed just before this one.

        `previous` must be exact or None: the id committed in the bin immediately before (whether or
        not it was deleted since), so that no id of the bin lies strictly between the two. Adapters
        that cannot tell it cheaply leave it None (this default), and live views read the store.
        """
        return Stored(id=await self.add_request(request))

    @abc.abstractmethod
    async def get_request(self, bin_id: str, request_id: int) -> CapturedRequest | None: ...

    @abc.abstractmethod
    async def get_summary(self, bin_id: str, request_id: int) -> RequestSummary | None:
        """One request as a list shows it (with its signature verdict), without reading its body."""

    @abc.abstractmethod
    async def list_requests(
        self, bin_id: str, *, limit: int, before: int | None = None
    ) -> list[RequestSummary]:
        """Newest first, at most `limit`, only ids below `before` when given (keyset paging)."""

    @abc.abstractmethod
    async def requests_after(self, bin_id: str, *, after: int, limit: int) -> list[RequestSummary]:
        """Oldest first, ids above `after`: what a live view that has seen `after` missed."""

    @abc.abstractmethod
    async def find_requests(
        self,
        bin_id: str,
        query: RequestQuery,
        *,
        limit: int,
        before: int | None = None,
        after: int | None = None,
        scan: int = SCAN_WINDOW,
    ) -> FoundPage:
        """The captures that pass `query`: newest first below `before`, or oldest first above `after`.

        At most `scan` rows are looked at per call, so a page costs the same however big the bin and
        however rare the matches: a page may hold fewer than `limit` items while `next` leads on (see
        FoundPage). Paging by `next` visits every match once, with no gap and no repeat.
        """

    @abc.abstractmethod
    async def count_requests(self, bin_id: str) -> int: ...

    @abc.abstractmethod
    async def delete_request(self, bin_id: str, request_id: int) -> bool: ...

    @abc.abstractmethod
    async def clear_requests(self, bin_id: str) -> int:
        """Delete every request of a bin; returns how many there were."""

    @abc.abstractmethod
    async def set_secret(self, bin_id: str, secret: BinSecret) -> None:
        """Remember (or replace) the bin's secret for one provider."""

    @abc.abstractmethod
    async def get_secrets(self, bin_id: str) -> list[BinSecret]: ...

    @abc.abstractmethod
    async def delete_secret(self, bin_id: str, provider: str) -> bool: ...

    # -- replay and auto-forward --------------------------------------------------------

    @abc.abstractmethod
    async def set_forward_targets(self, bin_id: str, targets: list[str]) -> None:
        """Where each new capture of the bin is delivered; captures made before this are not."""

    @abc.abstractmethod
    async def enqueue_forwards(
        self, *, now: datetime, max_pending: int, limit: int = 500
    ) -> list[ForwardJob]:
        """Make the jobs for captures not yet queued, oldest first, and return them.

        A bin with `max_pending` jobs still pending gets its new jobs as failed ("queue full")
        rather than an unbounded queue.
        """

    @abc.abstractmethod
    async def claim_forward_jobs(
        self, *, now: datetime, lease_seconds: float, limit: int
    ) -> list[ForwardJob]:
        """Claim up to `limit` pending jobs that are due and unclaimed, the longest-waiting first.

        Picking and claiming are one atomic step, so any number of workers (in one process or
        several) never get the same job while its claim lasts. A claim ends when the job is
        saved with `update_forward_job`, or runs out `lease_seconds` after `now` (the worker
        crashed): then the job is due again. The returned jobs carry their `claimed_until`.
        """

    @abc.abstractmethod
    async def next_forward_due(self) -> datetime | None:
        """When the earliest pending job is due (a claimed one: when its claim runs out); None
        when nothing is pending."""

    @abc.abstractmethod
    async def update_forward_job(self, job: ForwardJob) -> bool:
        """Save a claimed job's state and end its claim; the job must carry the `claimed_until`
        it was claimed with. False, and nothing saved, when that claim ran out and the job was
        claimed again since (another delivery now holds it)."""

    @abc.abstractmethod
    async def take_forward_budget(self, origin: str, *, budget: int, now: datetime) -> bool:
        """Count one more forward caused by the chain `origin`, unless it has caused `budget`
        (at least 1) already: then False. Atomic, like a claim."""

    @abc.abstractmethod
    async def forget_forward_origins(self, *, before: datetime) -> int:
        """Forget the forward counts of chains idle since before `before`; returns how many went."""

    @abc.abstractmethod
    async def forward_jobs(self, bin_id: str, request_id: int) -> list[ForwardJob]: ...

    # -- on-arrival signature checks ------------------------------------------------------

    @abc.abstractmethod
    async def enqueue_checks(self, *, limit: int = 500) -> int:
        """Make a check job for each capture, oldest first, of a bin that remembers a secret and that
        no job was made for yet (a per-bin cursor, moved in the same transaction); returns how many."""

    @abc.abstractmethod
    async def claim_check_jobs(self, *, now: datetime, lease_seconds: float, limit: int) -> list[CheckJob]:
        """Claim up to `limit` check jobs that are unclaimed (or whose claim ran out), atomically, like
        forward jobs: any number of workers in any number of processes never share one."""

    @abc.abstractmethod
    async def complete_check_job(self, job: CheckJob, check: SignatureCheck | None) -> bool:
        """Record the verdict (None: nothing to record) and drop the job, as one step; False, and
        nothing saved, when the job's claim ran out and another worker holds it now."""

    # -- coordination -----------------------------------------------------------------------

    @abc.abstractmethod
    async def try_lease(self, name: str, holder: str, *, now: datetime, seconds: float) -> bool:
        """Hold the named lease for `seconds` (background work one process at a time does): taken if
        free, run out, or already `holder`'s (then renewed); False while another holder has it."""

    @abc.abstractmethod
    async def add_attempt(self, attempt: Attempt) -> int: ...

    @abc.abstractmethod
    async def list_attempts(self, bin_id: str, request_id: int) -> list[Attempt]:
        """A capture's attempts, newest first."""

    @abc.abstractmethod
    async def record_check(self, request_id: int, check: SignatureCheck) -> None:
        """Keep the verdict of the on-arrival signature check; listing a request shows it."""
