"""The store contract: every method of the port, against SQLite (a real file) and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from storetools import fresh_schema, make_bin, make_request, scratch_database

from inspector.models import Attempt, BinChanges, BinSecret, CapturedRequest, SignatureCheck
from inspector.responses import ResponseSettings
from inspector.search import RequestQuery, parse_filters
from inspector.store import BinExists, BinNotFound, Store, StoreClosed, TooManyBins
from inspector.store.postgres import PostgresStore
from inspector.store.sqlite import SQLiteStore

OpenStore = Callable[..., Awaitable[Store]]


class Peek:
    """Reads through a connection of its own, outside the store: it sees only what is committed."""

    def __init__(self, kind: str, where: Any) -> None:
        self.kind = kind
        self.where = where

    async def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            with contextlib.closing(sqlite3.connect(self.where)) as conn:
                return conn.execute(sql.replace("$1", "?"), args).fetchall()
        conn = await asyncpg.connect(self.where)
        try:
            return [tuple(row) for row in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    async def ids(self, bin_id: str) -> list[int]:
        return [
            row[0] for row in await self.rows("SELECT id FROM requests WHERE bin_id = $1 ORDER BY id", bin_id)
        ]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[OpenStore, Peek]]:
    """A way to open stores of one kind on one fresh database, and a peek into that database."""
    opened: list[Store] = []
    if request.param == "sqlite":
        where: Any = tmp_path / "store.db"

        def build(**options: Any) -> Store:
            return SQLiteStore(where, **options)
    else:
        where = await fresh_schema(request.getfixturevalue("pg_database"))

        def build(**options: Any) -> Store:
            return PostgresStore(where, **options)

    async def open_store(**options: Any) -> Store:
        store = build(**options)
        await store.open()
        opened.append(store)
        return store

    yield open_store, Peek(request.param, where)
    for store in opened:
        await store.close()


@pytest.fixture
async def store(adapter: tuple[OpenStore, Peek]) -> Store:
    open_store, _ = adapter
    store = await open_store()
    await store.create_bin(make_bin())
    return store


@pytest.fixture
def peek(adapter: tuple[OpenStore, Peek]) -> Peek:
    return adapter[1]


def fields(request: CapturedRequest) -> dict[str, Any]:
    return {name: getattr(request, name) for name in request.__struct_fields__}


# -- captures ---------------------------------------------------------------------------------


async def test_a_request_comes_back_exactly(store: Store) -> None:
    original = make_request(body=b"\x00\xff binary \r\n", rejected=None)
    request_id = await store.add_request(original)
    loaded = await store.get_request("bin-one", request_id)
    assert loaded == CapturedRequest(**{**fields(original), "id": request_id})
    assert await store.get_request("other-bin", request_id) is None  # a request is read through its bin
    summary = await store.get_summary("bin-one", request_id)
    assert summary == msgspec.structs.replace(loaded.summary(), signature=None, forwarding=None)


async def test_add_request_returns_only_once_committed(store: Store, peek: Peek) -> None:
    pending = [store.add_request(make_request(body=str(n).encode())) for n in range(40)]
    for done in asyncio.as_completed(pending):
        request_id = await done
        # Another connection sees it already: the 2xx a capture sends after this is a promise kept.
        assert request_id in await peek.ids("bin-one")


async def test_concurrent_adds_get_increasing_ids_per_bin(store: Store) -> None:
    for name in ("bin-two", "bin-three"):
        await store.create_bin(make_bin(name))
    names = ["bin-one", "bin-two", "bin-three"]
    calls = [(names[n % 3], n) for n in range(300)]
    ids = await asyncio.gather(*(store.add_request(make_request(b, body=str(n).encode())) for b, n in calls))
    assert len(set(ids)) == 300
    for name in names:
        mine = [i for (b, _), i in zip(calls, ids, strict=True) if b == name]
        assert mine == sorted(mine)  # queued order is commit order
        after = await store.requests_after(name, after=0, limit=1000)
        assert [r.id for r in after] == mine
        assert await store.count_requests(name) == 100


async def test_add_capture_names_the_bins_previous_commit_or_nothing(store: Store) -> None:
    """`previous` lets a live view take a capture as its next row without a read: it must be exact
    (the id committed just before in the same bin) whenever it is not None; a vanished bin's row,
    never committed, is nobody's previous."""
    await store.create_bin(make_bin("bin-two"))
    names = ["bin-one", "bin-two", "ghost"]
    calls = [(names[n % 3], n) for n in range(90)]
    results = await asyncio.gather(
        *(store.add_capture(make_request(b, body=str(n).encode())) for b, n in calls), return_exceptions=True
    )
    for name in ("bin-one", "bin-two"):
        mine = [r for (b, _), r in zip(calls, results, strict=True) if b == name]
        ids = [stored.id for stored in mine]  # type: ignore[union-attr]
        assert [r.id for r in await store.requests_after(name, after=0, limit=1000)] == ids
        for earlier, stored in zip([None, *ids], mine, strict=False):
            assert stored.previous in (None, earlier)  # type: ignore[union-attr]
    assert all(isinstance(r, BinNotFound) for (b, _), r in zip(calls, results, strict=True) if b == "ghost")


async def test_a_vanished_bin_fails_only_its_own_requests(store: Store, peek: Peek) -> None:
    results = await asyncio.gather(
        store.add_request(make_request()),
        store.add_request(make_request(bin_id="ghost")),
        store.add_request(make_request()),
        return_exceptions=True,
    )
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], BinNotFound)
    assert await peek.ids("bin-one") == sorted([results[0], results[2]])


async def test_deleting_a_bin_takes_its_requests_and_later_captures_fail(store: Store) -> None:
    request_id = await store.add_request(make_request())
    with pytest.raises(BinExists):
        await store.create_bin(make_bin())
    assert await store.delete_bin("bin-one") is True
    assert await store.get_bin("bin-one") is None
    assert await store.get_request("bin-one", request_id) is None
    assert await store.count_requests("bin-one") == 0
    assert await store.delete_bin("bin-one") is False
    with pytest.raises(BinNotFound):
        await store.add_request(make_request())


async def test_ids_are_never_reused_after_deletes_and_reopening(adapter: tuple[OpenStore, Peek]) -> None:
    open_store, _ = adapter
    store = await open_store()
    await store.create_bin(make_bin())
    newest = max([await store.add_request(make_request()) for _ in range(3)])
    assert await store.clear_requests("bin-one") == 3
    await store.close()
    store = await open_store()
    assert await store.add_request(make_request()) > newest


async def test_close_commits_what_is_queued_then_refuses(adapter: tuple[OpenStore, Peek]) -> None:
    open_store, peek = adapter
    store = await open_store()
    await store.create_bin(make_bin())
    pending = [asyncio.create_task(store.add_request(make_request())) for _ in range(50)]
    await asyncio.sleep(0)  # let them queue
    await store.close()
    assert all(isinstance(task.result(), int) for task in pending)
    with pytest.raises(StoreClosed):
        await store.add_request(make_request())
    assert len(await peek.ids("bin-one")) == 50


# -- reading ----------------------------------------------------------------------------------


async def test_keyset_pages_have_no_gaps_or_repeats(store: Store) -> None:
    ids = [await store.add_request(make_request()) for _ in range(23)]
    seen: list[int] = []
    before = None
    for _ in range(10):  # bounded: 23 rows in pages of 4
        page = await store.list_requests("bin-one", limit=4, before=before)
        if not page:
            break
        assert len(page) <= 4
        seen += [r.id for r in page]
        before = page[-1].id
    assert seen == sorted(ids, reverse=True)
    first = (await store.list_requests("bin-one", limit=1))[0]
    assert first.content_type is None and first.body_size == 2 and first.query == "a=1&a=2"


async def test_requests_after_is_a_complete_catch_up(store: Store) -> None:
    ids = [await store.add_request(make_request()) for _ in range(10)]
    assert [r.id for r in await store.requests_after("bin-one", after=0, limit=100)] == ids
    assert [r.id for r in await store.requests_after("bin-one", after=ids[3], limit=100)] == ids[4:]
    assert [r.id for r in await store.requests_after("bin-one", after=ids[3], limit=2)] == ids[4:6]
    assert await store.requests_after("bin-one", after=ids[-1], limit=100) == []


async def test_deleting_and_clearing_requests(store: Store) -> None:
    ids = [await store.add_request(make_request()) for _ in range(4)]
    assert await store.delete_request("bin-one", ids[1]) is True
    assert await store.delete_request("bin-one", ids[1]) is False
    assert await store.delete_request("other-bin", ids[2]) is False  # only through its own bin
    assert await store.count_requests("bin-one") == 3
    assert await store.clear_requests("bin-one") == 3
    assert await store.count_requests("bin-one") == 0
    assert await store.list_requests("bin-one", limit=10) == []


async def test_ping_and_check_writes_commit(store: Store, peek: Peek) -> None:
    await store.ping()
    before = datetime.now(UTC)
    await store.check_writes()
    ((checked_at,),) = await peek.rows("SELECT checked_at FROM health")
    checked = checked_at if isinstance(checked_at, datetime) else datetime.fromisoformat(checked_at)
    assert checked >= before


# -- retention --------------------------------------------------------------------------------


async def test_retention_keeps_exactly_the_newest_n(adapter: tuple[OpenStore, Peek]) -> None:
    open_store, peek = adapter
    store = await open_store(max_requests=5)
    await store.create_bin(make_bin())
    await store.create_bin(make_bin("bin-three", max_requests=3))
    one = [await store.add_request(make_request()) for _ in range(8)]
    # A batch bigger than the limit: all commit, the oldest go.
    three = await asyncio.gather(*(store.add_request(make_request("bin-three")) for _ in range(7)))
    assert await peek.ids("bin-one") == one[-5:]
    assert await peek.ids("bin-three") == sorted(three)[-3:]
    assert await store.count_requests("bin-one") == 5
    assert await store.count_requests("bin-three") == 3
    # A lower limit applies at once, and to every capture after.
    await store.update_bin("bin-one", BinChanges(max_requests=2))
    assert await peek.ids("bin-one") == one[-2:]
    assert await store.count_requests("bin-one") == 2
    assert await store.list_requests("bin-one", limit=10) == await store.list_requests("bin-one", limit=2)
    newest = await store.add_request(make_request())
    assert await peek.ids("bin-one") == [one[-1], newest]
    assert await store.count_requests("bin-one") == 2


async def test_counts_stay_exact_when_known_before_each_change(adapter: tuple[OpenStore, Peek]) -> None:
    # Counted first, so an adapter that keeps counts must keep them through every later change.
    open_store, peek = adapter
    store = await open_store(max_requests=4)
    await store.create_bin(make_bin())
    assert await store.count_requests("bin-one") == 0
    ids = [await store.add_request(make_request()) for _ in range(3)]
    assert await store.count_requests("bin-one") == 3
    await store.delete_request("bin-one", ids[0])
    assert await store.count_requests("bin-one") == 2
    await store.update_bin("bin-one", BinChanges(max_requests=1))
    assert await store.count_requests("bin-one") == 1
    # Each new limit is the one the next capture meets.
    kept = await store.add_request(make_request())
    assert await peek.ids("bin-one") == [kept]
    await store.update_bin("bin-one", BinChanges(max_requests=3))
    more = [await store.add_request(make_request()) for _ in range(2)]
    assert await store.count_requests("bin-one") == 3
    assert await peek.ids("bin-one") == [kept, *more]
    await store.upsert_bin(make_bin(max_requests=2))
    newest = await store.add_request(make_request())
    assert await peek.ids("bin-one") == [more[-1], newest]
    assert await store.count_requests("bin-one") == 2
    await store.clear_requests("bin-one")
    assert await store.count_requests("bin-one") == 0
    await store.add_request(make_request())
    assert await store.count_requests("bin-one") == 1
    await store.delete_bin("bin-one")
    await store.create_bin(make_bin())
    assert await store.count_requests("bin-one") == 0


async def test_expired_bins_are_listed_oldest_first_and_fixed_ones_never(store: Store) -> None:
    now = datetime.now(UTC)
    for n, age in enumerate([3, 1, 2]):
        await store.create_bin(make_bin(f"old-{n}", expires_at=now - timedelta(hours=age)))
    await store.create_bin(make_bin("fixed", expires_at=now - timedelta(hours=9), fixed=True))
    assert await store.expired_bins(now, limit=10) == ["old-0", "old-2", "old-1"]
    assert await store.expired_bins(now, limit=2) == ["old-0", "old-2"]
    assert await store.expired_bins(now - timedelta(hours=5), limit=10) == []


async def test_stored_bytes_and_freeing_the_oldest(store: Store, peek: Peek) -> None:
    await store.create_bin(make_bin("bin-two"))
    first = await store.add_request(make_request(body=b"a" * 100))
    # A rejected request kept no body: it counts for nothing.
    await store.add_request(make_request("bin-two", body=b"", body_size=5000, rejected="too large"))
    second = await store.add_request(make_request("bin-two", body=b"b" * 200))
    third = await store.add_request(make_request(body=b"c" * 300))
    assert await store.stored_bytes() == 600
    # 250 bytes must go: the oldest (100), the rejected one before the 200 that covers the rest.
    assert await store.free_bytes(250, limit=100) == 3
    assert await store.stored_bytes() == 300
    assert await peek.ids("bin-one") == [third]
    assert await store.count_requests("bin-two") == 0
    assert second not in await peek.ids("bin-two") and first not in await peek.ids("bin-one")
    assert await store.free_bytes(1000, limit=0) == 0  # the limit bounds one call
    assert await store.free_bytes(1, limit=10) == 1
    assert await store.stored_bytes() == 0


# -- bins -------------------------------------------------------------------------------------


async def test_a_bin_comes_back_with_every_setting(store: Store) -> None:
    response = msgspec.convert({"default": {"status": 201, "body": "made"}, "cors": True}, ResponseSettings)
    bin = make_bin(
        "full",
        forward_targets=["http://a.test/"],
        response=response,
        max_requests=7,
        private=True,
        owner_token_hash="o" * 64,
        share_token_hash="s" * 64,
        creator_ip="10.0.0.1",
        fixed=True,
    )
    await store.create_bin(bin)
    assert await store.get_bin("full") == bin
    assert await store.get_bin("nobody") is None


async def test_partial_updates_change_only_what_they_set(store: Store) -> None:
    original = await store.get_bin("bin-one")
    later = original.expires_at + timedelta(days=3)
    made_private = await store.update_bin("bin-one", BinChanges(private=True, owner_token_hash="h" * 64))
    assert made_private == msgspec.structs.replace(original, private=True, owner_token_hash="h" * 64)
    # A second edit of other fields keeps the first one's.
    extended = await store.update_bin("bin-one", BinChanges(expires_at=later, max_requests=9))
    assert (extended.private, extended.owner_token_hash) == (True, "h" * 64)
    assert (extended.expires_at, extended.max_requests) == (later, 9)
    # None is a value to set, not "unchanged".
    cleared = await store.update_bin("bin-one", BinChanges(owner_token_hash=None, max_requests=None))
    assert (cleared.owner_token_hash, cleared.max_requests, cleared.private) == (None, None, True)
    assert await store.get_bin("bin-one") == cleared
    assert await store.update_bin("bin-one", BinChanges()) == cleared
    assert await store.update_bin("nobody", BinChanges(private=True)) is None
    assert await store.get_bin("nobody") is None


async def test_upsert_creates_then_replaces_settings_but_keeps_identity(store: Store) -> None:
    created = make_bin("fixed", fixed=True, creator_ip="10.0.0.1", forward_targets=["http://a.test/"])
    # Several processes declaring the same bin at once: none of them fails.
    await asyncio.gather(*(store.upsert_bin(created) for _ in range(10)))
    assert await store.get_bin("fixed") == created
    response = msgspec.convert({"default": {"status": 202}}, ResponseSettings)
    declared = make_bin(
        "fixed",
        created_at=created.created_at + timedelta(days=1),
        creator_ip="10.9.9.9",
        forward_targets=[],
        response=response,
        max_requests=3,
        private=True,
        owner_token_hash="t" * 64,
        fixed=True,
    )
    await store.upsert_bin(declared)
    assert await store.get_bin("fixed") == msgspec.structs.replace(
        declared,
        created_at=created.created_at,
        creator_ip="10.0.0.1",
        forward_targets=["http://a.test/"],  # forwarding changes through set_forward_targets only
    )


async def test_the_creator_cap_holds_under_concurrent_creations(store: Store) -> None:
    now = datetime.now(UTC)
    await store.create_bin(make_bin("gone", creator_ip="10.0.0.1", expires_at=now - timedelta(hours=1)))
    results = await asyncio.gather(
        *(store.create_bin(make_bin(f"cap-{n}", creator_ip="10.0.0.1"), creator_cap=5) for n in range(50)),
        return_exceptions=True,
    )
    assert results.count(None) == 5  # the expired bin does not count
    assert all(isinstance(r, TooManyBins) for r in results if r is not None)
    assert await store.count_bins_by_creator("10.0.0.1", datetime.now(UTC)) == 5
    await store.create_bin(make_bin("elsewhere", creator_ip="10.0.0.2"), creator_cap=5)
    assert await store.count_bins_by_creator("10.0.0.2", datetime.now(UTC)) == 1
    with pytest.raises(BinExists):
        await store.create_bin(make_bin("elsewhere", creator_ip="10.0.0.3"), creator_cap=5)


# -- secrets and signature checks -------------------------------------------------------------


async def test_secrets_are_kept_per_provider(store: Store) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert (await store.get_bin("bin-one")).has_secrets is False
    await store.set_secret("bin-one", BinSecret(provider="stripe", secret="whsec_1", updated_at=at))
    await store.set_secret(
        "bin-one", BinSecret(provider="github", secret="gh", options={"url": "https://x"}, updated_at=at)
    )
    await store.set_secret("bin-one", BinSecret(provider="stripe", secret="whsec_2", updated_at=at))
    assert await store.get_secrets("bin-one") == [
        BinSecret(provider="github", secret="gh", options={"url": "https://x"}, updated_at=at),
        BinSecret(provider="stripe", secret="whsec_2", updated_at=at),
    ]
    assert (await store.get_bin("bin-one")).has_secrets is True
    assert await store.delete_secret("bin-one", "stripe") is True
    assert await store.delete_secret("bin-one", "stripe") is False
    assert await store.delete_secret("bin-one", "github") is True
    assert (await store.get_bin("bin-one")).has_secrets is False


async def test_a_recorded_check_shows_in_the_summary(store: Store) -> None:
    request_id = await store.add_request(make_request())
    await store.record_check(request_id, SignatureCheck(provider="stripe", valid=False, reason="old"))
    await store.record_check(request_id, SignatureCheck(provider="stripe", valid=True, reason="ok"))
    (summary,) = await store.list_requests("bin-one", limit=10)
    assert summary.signature == SignatureCheck(provider="stripe", valid=True, reason="ok")
    await store.delete_request("bin-one", request_id)
    await store.record_check(request_id, SignatureCheck(provider="stripe", valid=True, reason="ok"))  # no-op


async def test_check_jobs_cover_captures_after_the_first_secret(store: Store) -> None:
    await store.create_bin(make_bin("no-secrets"))
    before = await store.add_request(make_request())
    await store.set_secret("bin-one", BinSecret(provider="stripe", secret="s", updated_at=datetime.now(UTC)))
    new = [await store.add_request(make_request()) for _ in range(3)]
    await store.add_request(make_request(body=b"", body_size=10**9, rejected="too large"))
    await store.add_request(make_request("no-secrets"))
    assert await store.enqueue_checks(limit=2) == 2
    assert await store.enqueue_checks() == 1  # the rest; the rejected capture has nothing to check
    assert await store.enqueue_checks() == 0  # each capture once
    now = datetime.now(UTC)
    jobs = await store.claim_check_jobs(now=now, lease_seconds=30, limit=10)
    assert [job.request_id for job in jobs] == new and before not in [job.request_id for job in jobs]
    assert {job.claimed_until for job in jobs} == {now + timedelta(seconds=30)}
    assert {job.bin_id for job in jobs} == {"bin-one"}
    assert await store.claim_check_jobs(now=now, lease_seconds=30, limit=10) == []

    verdict = SignatureCheck(provider="stripe", valid=True, reason="ok")
    assert await store.complete_check_job(jobs[0], verdict) is True
    assert (await store.get_summary("bin-one", new[0])).signature == verdict
    assert await store.complete_check_job(jobs[1], None) is True  # nothing to record, job done
    assert (await store.get_summary("bin-one", new[1])).signature is None
    # The third holder stalls: its claim runs out, another worker takes the job; the late verdict is refused.
    (again,) = await store.claim_check_jobs(now=now + timedelta(seconds=31), lease_seconds=30, limit=10)
    assert again.request_id == new[2]
    assert await store.complete_check_job(jobs[2], verdict) is False
    assert (await store.get_summary("bin-one", new[2])).signature is None
    assert await store.complete_check_job(again, verdict) is True
    assert await store.claim_check_jobs(now=now + timedelta(days=1), lease_seconds=30, limit=10) == []


async def test_concurrent_check_claimers_never_share_a_job(store: Store) -> None:
    await store.set_secret("bin-one", BinSecret(provider="stripe", secret="s", updated_at=datetime.now(UTC)))
    for _ in range(40):
        await store.add_request(make_request())
    assert await store.enqueue_checks() == 40
    now = datetime.now(UTC)
    claimed: list[int] = []
    for _ in range(40):  # bounded: at least one job per round until none are left
        rounds = await asyncio.gather(
            *(store.claim_check_jobs(now=now, lease_seconds=60, limit=3) for _ in range(4))
        )
        jobs = [job.request_id for batch in rounds for job in batch]
        if not jobs:
            break
        claimed += jobs
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 40


# -- auto-forward ----------------------------------------------------------------------------


async def test_forward_jobs_start_after_the_newest_capture_and_survive_reopening(
    adapter: tuple[OpenStore, Peek],
) -> None:
    open_store, _ = adapter
    store = await open_store()
    await store.create_bin(make_bin())
    old = await store.add_request(make_request())
    await store.set_forward_targets("bin-one", ["http://a.test/hook", "http://b.test/hook"])
    assert (await store.get_bin("bin-one")).forward_targets == ["http://a.test/hook", "http://b.test/hook"]
    new = [await store.add_request(make_request()) for _ in range(2)]
    now = datetime.now(UTC)
    await store.close()

    store = await open_store()  # the queue is made from the store: a restart in between loses nothing
    assert await store.next_forward_due() is None
    jobs = await store.enqueue_forwards(now=now, max_pending=100)
    assert sorted((j.request_id, j.target) for j in jobs) == sorted(
        (rid, t) for rid in new for t in ("http://a.test/hook", "http://b.test/hook")
    )
    assert old not in {j.request_id for j in jobs}
    assert await store.enqueue_forwards(now=now, max_pending=100) == []  # each capture queued once
    assert len({j.origin for j in jobs}) == 2  # one chain per capture, shared by its fan-out
    assert await store.next_forward_due() == now
    due = await store.claim_forward_jobs(now=now, lease_seconds=30, limit=10)
    assert len(due) == 4
    assert {j.claimed_until for j in due} == {now + timedelta(seconds=30)}
    assert await store.next_forward_due() == now + timedelta(seconds=30)  # due again if the claims run out

    first = due[0]
    later = now + timedelta(seconds=30)
    assert await store.update_forward_job(
        msgspec.structs.replace(first, attempts=1, next_attempt_at=later, last_status=503, last_error="x")
    )
    for job in due[1:]:
        assert await store.update_forward_job(job)  # saved unchanged: the claim ends
    assert len(await store.claim_forward_jobs(now=now, lease_seconds=30, limit=10)) == 3
    saved = await store.forward_jobs("bin-one", first.request_id)
    assert (
        msgspec.structs.replace(
            first, attempts=1, next_attempt_at=later, last_status=503, last_error="x", claimed_until=None
        )
        in saved
    )
    summary = await store.get_summary("bin-one", first.request_id)
    assert (summary.forwarding.targets, summary.forwarding.pending) == (2, 2)


async def test_turning_forwarding_on_again_starts_after_the_newest_capture(store: Store) -> None:
    await store.set_forward_targets("bin-one", ["http://a.test/"])
    await store.add_request(make_request())  # never queued: forwarding is turned off before
    await store.set_forward_targets("bin-one", [])
    await store.add_request(make_request())
    await store.set_forward_targets("bin-one", ["http://b.test/"])
    mid = await store.add_request(make_request())
    await store.set_forward_targets("bin-one", ["http://b.test/", "http://c.test/"])  # stays on: no reset
    after = await store.add_request(make_request())
    jobs = await store.enqueue_forwards(now=datetime.now(UTC), max_pending=100)
    assert [(j.request_id, j.target) for j in jobs] == [
        (rid, target) for rid in (mid, after) for target in ("http://b.test/", "http://c.test/")
    ]


async def test_a_full_forward_queue_fails_new_jobs_instead_of_growing(store: Store) -> None:
    await store.set_forward_targets("bin-one", ["http://a.test/"])
    for _ in range(3):
        await store.add_request(make_request())
    jobs = await store.enqueue_forwards(now=datetime.now(UTC), max_pending=2)
    assert [j.state for j in jobs] == ["pending", "pending", "failed"]
    assert "already waiting" in jobs[2].last_error


async def test_concurrent_forward_claimers_never_get_the_same_job(store: Store) -> None:
    await store.set_forward_targets("bin-one", ["http://t0.test/", "http://t1.test/"])
    for _ in range(30):
        await store.add_request(make_request())
    assert len(await store.enqueue_forwards(now=datetime.now(UTC), max_pending=10_000)) == 60
    now = datetime.now(UTC)
    claimed: list[tuple[int, str]] = []
    for _ in range(60):  # bounded: at least one job per round until none are left
        rounds = await asyncio.gather(
            *(store.claim_forward_jobs(now=now, lease_seconds=60, limit=7) for _ in range(3))
        )
        jobs = [(job.request_id, job.target) for batch in rounds for job in batch]
        if not jobs:
            break
        claimed += jobs
    assert len(claimed) == 60 and len(set(claimed)) == 60


async def test_an_expired_forward_claim_is_claimed_again_and_the_late_holder_is_fenced(store: Store) -> None:
    await store.set_forward_targets("bin-one", ["http://a.test/"])
    await store.add_request(make_request())
    await store.enqueue_forwards(now=datetime.now(UTC), max_pending=10)
    start = datetime.now(UTC)
    (job,) = await store.claim_forward_jobs(now=start, lease_seconds=30, limit=10)
    assert await store.claim_forward_jobs(now=start + timedelta(seconds=29), lease_seconds=30, limit=10) == []
    (again,) = await store.claim_forward_jobs(now=start + timedelta(seconds=31), lease_seconds=30, limit=10)
    assert (again.request_id, again.target) == (job.request_id, job.target)
    assert not await store.update_forward_job(msgspec.structs.replace(job, state="failed", attempts=1))
    assert await store.update_forward_job(msgspec.structs.replace(again, state="delivered", attempts=1))
    (saved,) = await store.forward_jobs("bin-one", job.request_id)
    assert (saved.state, saved.claimed_until) == ("delivered", None)
    assert await store.next_forward_due() is None
    assert await store.claim_forward_jobs(now=start + timedelta(days=1), lease_seconds=30, limit=10) == []


async def test_a_forward_budget_is_spent_exactly_once_per_unit(store: Store) -> None:
    now = datetime.now(UTC)
    taken = await asyncio.gather(
        *(store.take_forward_budget("chain-a", budget=20, now=now) for _ in range(50))
    )
    assert taken.count(True) == 20
    assert await store.take_forward_budget("chain-b", budget=20, now=now)  # chains are counted apart
    assert await store.forget_forward_origins(before=now) == 0
    assert await store.forget_forward_origins(before=now + timedelta(seconds=1)) == 2
    assert await store.take_forward_budget("chain-a", budget=20, now=now)


async def test_attempts_are_kept_newest_first(store: Store, peek: Peek) -> None:
    request_id = await store.add_request(make_request())
    started = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)

    def attempt(status: int | None, error: str | None) -> Attempt:
        return Attempt(
            request_id=request_id,
            bin_id="bin-one",
            kind="replay",
            target="http://a.test/",
            started_at=started,
            status=status,
            error=error,
            duration_ms=12.5,
            result=b'{"status": 503}\x00',
        )

    first = await store.add_attempt(attempt(503, None))
    second = await store.add_attempt(attempt(None, "refused"))
    assert second > first > 0
    assert await store.list_attempts("bin-one", request_id) == [
        msgspec.structs.replace(attempt(None, "refused"), id=second),
        msgspec.structs.replace(attempt(503, None), id=first),
    ]
    assert await store.list_attempts("other-bin", request_id) == []
    await store.delete_request("bin-one", request_id)
    await store.add_attempt(attempt(200, None))  # its capture is gone: nothing to attach the attempt to
    assert await peek.rows("SELECT id FROM attempts") == []


# -- coordination -----------------------------------------------------------------------------


async def test_a_lease_has_one_holder_until_it_runs_out(store: Store) -> None:
    now = datetime.now(UTC)
    assert await store.try_lease("sweeper", "a", now=now, seconds=30)
    assert not await store.try_lease("sweeper", "b", now=now + timedelta(seconds=29), seconds=30)
    assert await store.try_lease("sweeper", "a", now=now + timedelta(seconds=20), seconds=30)  # renewed
    assert not await store.try_lease("sweeper", "b", now=now + timedelta(seconds=49), seconds=30)
    assert await store.try_lease("other", "b", now=now, seconds=30)  # leases are named apart
    assert await store.try_lease("sweeper", "b", now=now + timedelta(seconds=51), seconds=30)
    assert not await store.try_lease("sweeper", "a", now=now + timedelta(seconds=52), seconds=30)
    racing = await asyncio.gather(*(store.try_lease("race", f"h{n}", now=now, seconds=30) for n in range(20)))
    assert racing.count(True) == 1


# -- what metrics read ------------------------------------------------------------------------


async def test_every_group_commit_is_reported_with_its_size(store: Store) -> None:
    commits: list[tuple[int, float]] = []
    store.commit_observer = lambda size, seconds: commits.append((size, seconds))
    await store.add_request(make_request())
    await asyncio.gather(*(store.add_request(make_request(body=str(n).encode())) for n in range(50)))
    assert sum(size for size, _ in commits) == 51
    assert commits[0][0] == 1 and len(commits) < 51  # the burst went in batches, not one by one
    assert all(seconds > 0 for _, seconds in commits)


async def test_queue_depths_count_pending_forwards_and_waiting_checks(store: Store) -> None:
    assert await store.queue_depths() == {"commit": 0, "forward": 0, "check": 0}
    await store.set_forward_targets("bin-one", ["http://a.test/", "http://b.test/"])
    await store.set_secret("bin-one", BinSecret(provider="stripe", secret="s", updated_at=datetime.now(UTC)))
    for _ in range(3):
        await store.add_request(make_request())
    now = datetime.now(UTC)
    await store.enqueue_forwards(now=now, max_pending=100)
    await store.enqueue_checks()
    assert await store.queue_depths() == {"commit": 0, "forward": 6, "check": 3}
    (job,) = await store.claim_forward_jobs(now=now, lease_seconds=30, limit=1)
    await store.update_forward_job(msgspec.structs.replace(job, state="delivered"))
    (check,) = await store.claim_check_jobs(now=now, lease_seconds=30, limit=1)
    await store.complete_check_job(check, None)
    assert await store.queue_depths() == {"commit": 0, "forward": 5, "check": 2}


# -- search --------------------------------------------------------------------------------------


async def _searchable(store: Store) -> dict[str, int]:
    """A bin with one capture of each kind the filters tell apart; their ids by name."""
    await store.create_bin(make_bin("bin-two"))
    await store.add_request(make_request("bin-two", body=b"needle"))  # another bin's: never found
    then = datetime(2026, 1, 1, tzinfo=UTC)

    def hours(n: int) -> datetime:
        return then + timedelta(hours=n)

    made = {
        "get": make_request(
            method="GET",
            sub_path="/orders/1",
            query="status=paid&x=",
            headers=[("x-tag", "1")],
            body=b"",
            body_size=0,
            received_at=hours(0),
        ),
        "stripe": make_request(
            method="PUT",
            sub_path="/orders/2",
            query="",
            headers=[("content-type", "application/json"), ("stripe-signature", "t=1,v1=x")],
            body=b'{"id": "evt_1", "object": "event", "type": "invoice.paid",'
            b' "data": {"object": {"id": "o_1"}}}',
            received_at=hours(1),
        ),
        "github": make_request(
            sub_path="/gh",
            query="",
            headers=[
                ("x-github-event", "push"),
                ("x-github-delivery", "d-1"),
                ("content-type", "application/json"),
            ],
            body=b'{"ref": "main", "n": 3, "ok": true}',
            received_at=hours(2),
        ),
        "binary": make_request(
            sub_path="/files/a.bin",
            headers=[("content-type", "application/octet-stream")],
            body=b"\x00\xff NeEdLe \x01" * 100,
            received_at=hours(3),
        ),
        "text": make_request(
            method="propfind",
            sub_path="/notes/deep/x",
            headers=[("content-type", "text/plain; charset=utf-8"), ("x-tag", "2")],
            body="Hello needle wörld".encode(),
            received_at=hours(4),
        ),
    }
    ids = {name: await store.add_request(request) for name, request in made.items()}
    await store.record_check(ids["github"], SignatureCheck(provider="github", valid=True, reason="ok"))
    await store.record_check(ids["stripe"], SignatureCheck(provider="stripe", valid=False, reason="bad"))
    await store.set_forward_targets("bin-one", ["http://a.test/"])
    ids["fwd-ok"] = await store.add_request(make_request(received_at=hours(5)))
    ids["fwd-pending"] = await store.add_request(make_request(received_at=hours(6)))
    now = datetime.now(UTC)
    await store.enqueue_forwards(now=now, max_pending=100)
    (job,) = [
        j
        for j in await store.claim_forward_jobs(now=now, lease_seconds=30, limit=10)
        if j.request_id == ids["fwd-ok"]
    ]
    assert await store.update_forward_job(msgspec.structs.replace(job, state="delivered", attempts=1))
    return ids


async def _all_found(store: Store, query: RequestQuery, *, limit: int = 2, scan: int = 3) -> list[int]:
    """Every match, by paging newest first through small windows (bounded loop)."""
    seen: list[int] = []
    before = None
    for _ in range(500):
        page = await store.find_requests("bin-one", query, limit=limit, before=before, scan=scan)
        assert len(page.items) <= limit
        seen += [item.id for item in page.items]
        if page.next is None:
            return seen
        before = page.next
    raise AssertionError("paging did not end")


FILTER_CASES = [
    ([("method", "PUT")], ["stripe"]),
    ([("method", "get"), ("method", "PROPFIND")], ["get", "text"]),
    ([("path", "/orders/*")], ["get", "stripe"]),
    ([("path", "/notes/**")], ["text"]),
    ([("q", "needle")], ["binary", "text"]),
    ([("q", "wörld")], ["text"]),
    ([("header", "x-tag:2")], ["text"]),
    ([("header", "X-Tag:")], ["get", "text"]),
    ([("header", "x-github-delivery:d-1"), ("header", "x-tag:")], []),
    ([("header", "x-github-delivery:d-1"), ("header", "x-github-event:push")], ["github"]),
    ([("query", "status:paid")], ["get"]),
    ([("query", "x:")], ["get"]),
    ([("json", "data.object.id:o_1")], ["stripe"]),
    ([("json", "n:3")], ["github"]),
    ([("json", "ok:true")], ["github"]),
    ([("json", "ref:")], ["github"]),
    ([("content_type", "application/json")], ["stripe", "github"]),
    ([("content_type", "text/plain")], ["text"]),
    ([("min_size", "1000")], ["binary"]),
    ([("max_size", "0")], ["get"]),
    ([("since", "2026-01-01T02:00:00Z"), ("until", "2026-01-01T03:00:00+00:00")], ["github", "binary"]),
    ([("provider", "stripe")], ["stripe"]),
    ([("provider", "github"), ("event", "push")], ["github"]),
    ([("event", "invoice.paid")], ["stripe"]),
    ([("signature", "valid")], ["github"]),
    ([("signature", "invalid")], ["stripe"]),
    ([("forward", "delivered")], ["fwd-ok"]),
    ([("forward", "pending")], ["fwd-pending"]),
    ([("forward", "failed")], []),
    ([("method", "POST"), ("q", "needle"), ("min_size", "10")], ["binary"]),
]


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES, ids=[str(p) for p, _ in FILTER_CASES])
async def test_each_filter_finds_exactly_its_captures(
    store: Store, params: list[tuple[str, str]], expected: list[str]
) -> None:
    ids = await _searchable(store)
    wanted = sorted((ids[name] for name in expected), reverse=True)
    assert await _all_found(store, parse_filters(params)) == wanted
    # The same in one large page, and oldest first.
    page = await store.find_requests("bin-one", parse_filters(params), limit=100)
    assert ([i.id for i in page.items], page.next) == (wanted, None)
    page = await store.find_requests("bin-one", parse_filters(params), limit=100, after=0)
    assert [i.id for i in page.items] == wanted[::-1]
    assert (page.next, page.more) == (max(ids.values()), False)


async def test_unchecked_signature_means_no_verdict(store: Store) -> None:
    ids = await _searchable(store)
    found = await _all_found(store, parse_filters([("signature", "unchecked")]))
    assert sorted(found) == sorted(v for k, v in ids.items() if k not in ("github", "stripe"))


async def test_filtered_paging_through_a_large_bin_has_no_gap_or_repeat(store: Store) -> None:
    ids = [await store.add_request(make_request(method="PUT" if i % 7 == 0 else "POST")) for i in range(120)]
    puts = [rid for i, rid in enumerate(ids) if i % 7 == 0]
    query = parse_filters([("method", "PUT")])
    for limit, scan in ((1, 1), (3, 5), (2, 50), (500, 2000)):
        assert await _all_found(store, query, limit=limit, scan=scan) == puts[::-1]
    # A window that finds nothing still leads on; a page never looks at more than `scan` rows.
    page = await store.find_requests("bin-one", query, limit=5, before=ids[-1], scan=5)
    assert page.items == [] and page.next == ids[-6]
    # Oldest first from a cursor: the catch-up a filtered live view needs.
    page = await store.find_requests("bin-one", query, limit=3, after=puts[1])
    assert [i.id for i in page.items] == puts[2:5] and page.more and page.next == puts[4]
    tail = await store.find_requests("bin-one", query, limit=100, after=puts[-1])
    assert tail.items == [] and tail.next == ids[-1] and not tail.more


DELIVERY_HEADERS = [
    [("x-github-event", "push"), ("x-github-delivery", "gh-1")],
    [("x-shopify-topic", "orders/create"), ("x-shopify-webhook-id", "sh-1")],
    [("x-gitlab-event", "Push Hook"), ("x-gitlab-event-uuid", "gl-1")],
    [("webhook-id", "msg_1")],
    [("svix-id", "msg_2")],
    [("linear-delivery", "ln-1"), ("linear-event", "Issue")],
]


@pytest.mark.parametrize("headers", DELIVERY_HEADERS, ids=[h[-1][0] for h in DELIVERY_HEADERS])
async def test_a_repeated_delivery_id_marks_a_duplicate_of_the_first(store: Store, headers: list) -> None:
    await store.create_bin(make_bin("bin-two"))
    first = await store.add_request(make_request(headers=headers))
    other = await store.add_request(make_request(headers=[(k, v + "-other") for k, v in headers]))
    again = await store.add_request(make_request(headers=headers))
    third = await store.add_request(make_request(headers=headers))
    elsewhere = await store.add_request(make_request("bin-two", headers=headers))  # per bin only
    assert (await store.get_request("bin-one", first)).duplicate_of is None
    assert (await store.get_request("bin-one", other)).duplicate_of is None
    assert (await store.get_request("bin-one", again)).duplicate_of == first
    assert (await store.get_summary("bin-one", third)).duplicate_of == first
    assert (await store.get_request("bin-two", elsewhere)).duplicate_of is None
    listed = {s.id: s.duplicate_of for s in await store.list_requests("bin-one", limit=10)}
    assert listed == {first: None, other: None, again: first, third: first}


async def test_stripe_events_are_labelled_and_their_retries_marked(store: Store) -> None:
    body = b'{"id": "evt_9", "object": "event", "type": "charge.succeeded", "data": {}}'
    first = await store.add_request(make_request(body=body, headers=[("stripe-signature", "t=1,v1=a")]))
    retry = await store.add_request(make_request(body=body, headers=[("stripe-signature", "t=2,v1=b")]))
    loaded = await store.get_request("bin-one", retry)
    assert (loaded.provider, loaded.event, loaded.duplicate_of) == ("stripe", "charge.succeeded", first)
    nul = await store.add_request(
        make_request(body=b'{"type": "a\\u0000b", "api_app_id": "A", "team_id": "T"}')
    )
    assert (await store.get_summary("bin-one", nul)).event == "ab"  # a label never stops a capture
