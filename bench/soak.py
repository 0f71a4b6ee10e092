"""Memory under sustained load: the default server's RSS, sampled while wrk captures for minutes.

One `inspector serve` (default settings: SQLite, every bin keeps its newest 1,000) pinned to one CPU
takes 1 KB JSON POSTs from wrk pinned to the other, without pause, in slices of `--slice` seconds,
while a dashboard-like client follows the bin's live JSON stream. RSS is read from /proc after each
slice. The first `--warm-up` seconds fill the bin, the caches and the allocator's arenas; growth is
measured from there. The issue's target is absolute (flat within 5 MiB over 10 minutes), so this
reports MiB, with the raw ASGI app's RSS over one slice of the same load as the floor of what any
Python server here holds.

    python bench/soak.py                          # 10 minutes after a 1-minute warm-up
    python bench/soak.py --minutes 1 --slice 10   # a quick look
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from capture import Server, lua_script, rss_kib, wrk


class Follower(threading.Thread):
    """Reads the bin's live JSON stream as a dashboard would, counting the captures it is sent."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.events = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with httpx.stream("GET", self.url, timeout=httpx.Timeout(10, read=30)) as response:
                    for line in response.iter_lines():
                        if line.startswith("event: request"):
                            self.events += 1
                        if self.stopping.is_set():
                            return
            except httpx.HTTPError:
                time.sleep(0.5)  # reconnect, as the browser's EventSource does


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="measured load after the warm-up")
    parser.add_argument("--warm-up", type=int, default=60, help="seconds of load before the first sample")
    parser.add_argument("--slice", type=int, default=30, help="seconds of load between RSS samples")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--synchronous", default="full", help="SQLite synchronous setting for the server")
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--load-cpu", default="1")
    parser.add_argument("--output", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        script = lua_script(workdir)
        raw = Server("raw", "auto", args, workdir)
        try:
            wrk(f"{raw.url}/b/x/bench", argparse.Namespace(**{**vars(args), "duration": args.slice}), script)
            raw_rss = rss_kib(raw.process.pid) / 1024
        finally:
            raw.stop()
        server = Server("inspector", "auto", args, workdir)
        follower: Follower | None = None
        samples: list[dict[str, float]] = []
        try:
            bin_id = httpx.post(f"{server.url}/api/bins").json()["id"]
            follower = Follower(f"{server.url}/api/bins/{bin_id}/stream")
            follower.start()
            target = f"{server.url}/b/{bin_id}/soak"
            started = time.monotonic()
            wrk(target, argparse.Namespace(**{**vars(args), "duration": args.warm_up}), script)
            slices = max(1, round(args.minutes * 60 / args.slice))
            captured = 0
            for _ in range(slices):  # bounded: `slices` wrk runs of `--slice` seconds each
                run = wrk(target, argparse.Namespace(**{**vars(args), "duration": args.slice}), script)
                captured += run.completed - run.non_2xx
                samples.append(
                    {
                        "seconds": round(time.monotonic() - started, 1),
                        "rss_mib": rss_kib(server.process.pid) / 1024,
                        "captured": captured,
                        "requests_per_s": run.requests_per_s,
                        "non_2xx": run.non_2xx,
                        "streamed": follower.events,
                    }
                )
                print(
                    f"  {samples[-1]['seconds']:>6.0f} s  RSS {samples[-1]['rss_mib']:6.1f} MiB"
                    f"  {captured:>9,} captured  {run.requests_per_s:>7,.0f} req/s"
                    f"  {follower.events:>9,} streamed",
                    flush=True,
                )
        finally:
            if follower is not None:
                follower.stopping.set()
            server.stop()
    rss = [sample["rss_mib"] for sample in samples]
    result = {
        "minutes": args.minutes,
        "slice_seconds": args.slice,
        "warm_up_seconds": args.warm_up,
        "raw_asgi_rss_mib": raw_rss,
        "rss_first_mib": rss[0],
        "rss_last_mib": rss[-1],
        "rss_max_mib": max(rss),
        "growth_mib": rss[-1] - rss[0],
        "spread_mib": max(rss) - min(rss),
        "captured": samples[-1]["captured"],
        "median_requests_per_s": statistics.median(sample["requests_per_s"] for sample in samples),
        "non_2xx": sum(sample["non_2xx"] for sample in samples),
        "streamed": samples[-1]["streamed"],
        "samples": samples,
    }
    print(
        f"\n{args.minutes:g} minutes after a {args.warm_up} s warm-up, wrk -c{args.connections} on CPU"
        f" {args.load_cpu}, one live JSON stream open\n"
    )
    print(
        "| RSS after warm-up | at the end | highest | growth | spread | raw ASGI app (one slice) | captured |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {rss[0]:.1f} MiB | {rss[-1]:.1f} MiB | {max(rss):.1f} MiB | {rss[-1] - rss[0]:+.1f} MiB |"
        f" {max(rss) - min(rss):.1f} MiB | {raw_rss:.1f} MiB | {result['captured']:,} |"
    )
    if args.output:
        args.output.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
