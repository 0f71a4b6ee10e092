"""Search cost against bin size: filtered pages of a 100,000-request bin, over HTTP, against a plain page.

Fills a SQLite database through the store (1 KiB JSON bodies; a few hold the needle), starts
`inspector serve` on it and times, each as the median of --repeat calls:

- the baseline: the newest page, no filter (one index range);
- a body-text search (`q=`) for a needle none of the newest rows hold: one page, and every page to
  the end of the bin (each page looks at --scan rows at most, so a page's time does not grow with
  the bin; walking all of them does, linearly);
- a method filter and a JSON-field filter, one page each.

    python bench/search.py                      # 100,000 requests
    python bench/search.py --rows 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from inspector.models import Bin, CapturedRequest
from inspector.store.sqlite import SQLiteStore

BIN = "search-bench"


def capture(n: int, needle: bool) -> CapturedRequest:
    body = json.dumps(
        {"n": n, "type": "invoice.paid" if n % 10 == 0 else "charge", "pad": "x" * 960}
    ).encode()
    if needle:
        body = body.replace(b'"pad": "x', b'"pad": "NEEDLE x')
    return CapturedRequest(
        bin_id=BIN,
        method="PUT" if n % 100 == 0 else "POST",
        path=f"/b/{BIN}/hook",
        sub_path="/hook",
        query="",
        headers=[("host", "h"), ("content-type", "application/json")],
        body=body,
        body_size=len(body),
        body_sha256=None,
        client_ip="127.0.0.1",
        client_port=1,
        host="h",
        scheme="http",
        http_version="1.1",
        received_at=datetime.now(UTC),
    )


async def fill(path: Path, rows: int) -> None:
    store = SQLiteStore(path)
    await store.open()
    now = datetime.now(UTC)
    await store.create_bin(
        Bin(id=BIN, created_at=now, expires_at=now + timedelta(days=1), max_requests=10**8)
    )
    needles = {rows // 7, rows // 3}  # far from the newest rows: a search must walk to reach them
    for start in range(0, rows, 500):  # 500 at a time: group commits
        await asyncio.gather(
            *(store.add_request(capture(n, n in needles)) for n in range(start, min(rows, start + 500)))
        )
    await store.close()


def timed(http: httpx.Client, params: dict[str, str], repeat: int) -> tuple[float, dict]:
    times, answer = [], {}
    for _ in range(repeat):
        began = time.perf_counter()
        response = http.get(f"/api/bins/{BIN}/requests", params=params)
        times.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        answer = response.json()
    return statistics.median(times), answer


def walk(http: httpx.Client, params: dict[str, str]) -> tuple[float, int, int]:
    """Every page of a filtered listing: total ms, pages, matches."""
    began, pages, found, before = time.perf_counter(), 0, 0, None
    for _ in range(10**6):
        page = http.get(
            f"/api/bins/{BIN}/requests", params={**params, **({"before": before} if before else {})}
        ).json()
        pages += 1
        found += len(page["items"])
        if page["next"] is None:
            break
        before = page["next"]
    return (time.perf_counter() - began) * 1000, pages, found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "search.db"
        began = time.perf_counter()
        asyncio.run(fill(db, args.rows))
        print(f"filled {args.rows:,} requests in {time.perf_counter() - began:.1f} s")
        server = subprocess.Popen(
            [sys.executable, "-m", "inspector", "serve", "--port", str(args.port), "--db", str(db)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=120) as http:
                for _ in range(300):
                    try:
                        if http.get("/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                base, _ = timed(http, {"limit": "50"}, args.repeat)
                rows = [("plain page (baseline)", base, "")]
                for label, params in (
                    ("q=NEEDLE, first page", {"q": "NEEDLE", "limit": "50"}),
                    ("method=PUT, first page", {"method": "PUT", "limit": "50"}),
                    ("json=type:invoice.paid, first page", {"json": "type:invoice.paid", "limit": "50"}),
                    (
                        "q=NEEDLE, a page deep in the bin",
                        {"q": "NEEDLE", "limit": "50", "before": str(args.rows // 10)},
                    ),
                ):
                    ms, page = timed(http, params, args.repeat)
                    rows.append((label, ms, f"{len(page['items'])} items, next={page['next']}"))
                total, pages, found = walk(http, {"q": "NEEDLE", "limit": "50"})
                rows.append((f"q=NEEDLE, all {pages} pages", total, f"{found} found"))
        finally:
            server.terminate()
            server.wait(20)
    print(f"\n| query ({args.rows:,} requests) | ms (median of {args.repeat}) | x baseline | answer |")
    print("|---|---:|---:|---|")
    for label, ms, note in rows:
        print(f"| {label} | {ms:.1f} | {ms / base:.1f}x | {note} |")


if __name__ == "__main__":
    main()
