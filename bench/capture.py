"""Capture throughput and latency under load, as a ratio to a bare ASGI app measured in the same run.

Runs wrk (Debian package `wrk`) pinned to one CPU against a server pinned to another. For each
HTTP parser it alternates runs of the baseline (bench/raw_app.py: reads the body, stores
nothing) and of `inspector serve` (durable capture: every 2xx is committed to SQLite first),
then reports medians, their ratio, RSS before and after the load, and checks that every
acknowledged request is stored and that an odd method token is still captured.

    python bench/capture.py                      # 3 x 10 s per server and parser
    python bench/capture.py --duration 5 --runs 1 --parsers h11
    python bench/capture.py --scale-out          # 1, 2, 4 processes on PostgreSQL+Redis vs SQLite
    python bench/capture.py --compare            # default vs raw ceilings, --http h11, method mix

The scale-out mode compares, in alternating runs, one SQLite process against `--workers 1, 2, 4`
on PostgreSQL (127.0.0.1:5432, a scratch database) and Redis (127.0.0.1:6379): servers run on every
CPU, and the CPU seconds each part used per capture (the server processes, PostgreSQL, Redis) say
where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
BODY = json.dumps({"event": "bench", "data": "x" * 980}, separators=(",", ":"))
assert 1000 <= len(BODY) <= 1024


@dataclass
class Run:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    completed: int
    non_2xx: int
    errors: int


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cpu: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command] if shutil.which("taskset") else command


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, args: argparse.Namespace, script: Path) -> Run:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "-s",
        str(script),
    ]
    output = subprocess.run(
        pinned(args.load_cpu, [*command, url]), capture_output=True, text=True, check=True
    ).stdout
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Run(
        requests_per_s=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=milliseconds(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        p99_ms=milliseconds(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        completed=int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        non_2xx=int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0,
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


class Server:
    def __init__(
        self,
        kind: str,
        parser: str,
        args: argparse.Namespace,
        workdir: Path,
        tree: Path | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        common = ["--host", "127.0.0.1", "--port", str(self.port), "--http", parser]
        if kind == "raw":
            # uvicorn has no "auto": the bare app's ceiling for it is llhttp's.
            common[-1] = "httptools" if parser == "auto" else parser
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "raw_app:app",
                "--app-dir",
                str(HERE),
                "--no-access-log",
            ]
            command += ["--log-level", "warning", *common]
        else:
            db = workdir / f"bench-{parser}-{self.port}.db"
            command = [sys.executable, "-m", "inspector", "serve", "--db", str(db), "--log-level", "warning"]
            command += ["--sqlite-synchronous", args.synchronous, *common, *extra]
        # `tree`: another checkout of the project (an earlier commit, to measure a change against).
        env = {**os.environ, "PYTHONPATH": str(tree)} if tree else None
        self.process = subprocess.Popen(
            pinned(args.server_cpu, command), stdout=subprocess.DEVNULL, cwd=tree, env=env
        )
        wait_healthy(f"{self.url}/healthz", self.process)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


def lua_script(workdir: Path, *, mix: bool = False) -> Path:
    """The 1 KB JSON POST, from a wrk request function; with `mix`, one request in 20 of another
    method: PROPFIND (llhttp knows it) and FOO (llhttp reads it under a stand-in). All-POST loads use
    the same function, so that a mix and all-POST differ in their methods alone (wrk also verifies
    only a script's first request, and refuses FOO there)."""
    script = workdir / ("mix.lua" if mix else "post.lua")
    odd = (
        '  if n % 40 == 0 then method = "FOO" elseif n % 40 == 20 then method = "PROPFIND" end\n'
        if mix
        else ""
    )
    script.write_text(
        "local n = 0\n"
        f"local body = {json.dumps(BODY)}\n"
        "request = function()\n"
        "  n = n + 1\n"
        '  local method = "POST"\n'
        f"{odd}"
        '  return wrk.format(method, wrk.path, {["Content-Type"] = "application/json"}, body)\n'
        "end\n"
    )
    return script


def bench_parser(parser: str, args: argparse.Namespace, workdir: Path) -> dict:
    script = lua_script(workdir)
    raw_runs: list[Run] = []
    capture_runs: list[Run] = []
    raw = Server("raw", parser, args, workdir)
    inspector = Server("inspector", parser, args, workdir)
    try:
        bin_id = httpx.post(f"{inspector.url}/api/bins").json()["id"]
        target = f"{inspector.url}/b/{bin_id}/bench"
        # Warm both up, then alternate so drift on a shared machine hits both alike.
        wrk(f"{raw.url}/b/x/bench", argparse.Namespace(**{**vars(args), "duration": 2}), script)
        wrk(target, argparse.Namespace(**{**vars(args), "duration": 2}), script)
        rss_before = rss_kib(inspector.process.pid)
        for _ in range(args.runs):
            raw_runs.append(wrk(f"{raw.url}/b/x/bench", args, script))
            capture_runs.append(wrk(target, args, script))
        rss_after = rss_kib(inspector.process.pid)
        # Ids are given in commit order and this server has one bin, so the newest id counts every
        # committed capture (the bin itself keeps only its newest 1,000: retention is on, as by default).
        newest = httpx.get(f"{inspector.url}/api/bins/{bin_id}/requests", params={"limit": 1}, timeout=30)
        stored = newest.json()["items"][0]["id"]
        acknowledged = sum(run.completed - run.non_2xx for run in capture_runs)
        odd = httpx.request("FOO", f"{inspector.url}/b/{bin_id}/odd-method")
    finally:
        raw.stop()
        inspector.stop()
    raw_rps = statistics.median(run.requests_per_s for run in raw_runs)
    capture_rps = statistics.median(run.requests_per_s for run in capture_runs)
    return {
        "parser": parser,
        "raw_asgi": {
            "requests_per_s": raw_rps,
            "p50_ms": statistics.median(r.p50_ms for r in raw_runs),
            "p99_ms": statistics.median(r.p99_ms for r in raw_runs),
        },
        "inspector": {
            "requests_per_s": capture_rps,
            "p50_ms": statistics.median(r.p50_ms for r in capture_runs),
            "p99_ms": statistics.median(r.p99_ms for r in capture_runs),
        },
        "ratio": capture_rps / raw_rps,
        "rss_kib_before": rss_before,
        "rss_kib_after": rss_after,
        # Warm-up requests count too, so stored >= acknowledged in the measured runs.
        "acknowledged_in_runs": acknowledged,
        "stored": stored,
        "non_2xx": sum(run.non_2xx for run in capture_runs),
        "socket_errors": sum(run.errors for run in capture_runs),
        "foo_method_captured": odd.status_code == 200,
        "runs": {"raw_asgi": [asdict(r) for r in raw_runs], "inspector": [asdict(r) for r in capture_runs]},
    }


def bench_compare(args: argparse.Namespace, workdir: Path) -> list[dict]:
    """The default server against raw ASGI on uvicorn+httptools and +h11, `--http h11` (the old
    default) and the default under a 95/5 method mix, in alternating runs; req/s and server CPU."""
    post, mix = lua_script(workdir), lua_script(workdir, mix=True)
    raw_fast = Server("raw", "httptools", args, workdir)
    raw_h11 = Server("raw", "h11", args, workdir)
    auto = Server("inspector", "auto", args, workdir)
    # Bins below their limit: nothing is evicted (a bin at its limit deletes its oldest per capture).
    roomy = Server("inspector", "auto", args, workdir, extra=("--max-requests", "100000000"))
    h11 = Server("inspector", "h11", args, workdir)
    baseline = Server("inspector", "h11", args, workdir, args.baseline_tree) if args.baseline_tree else None
    other_auto = Server("inspector", "auto", args, workdir, args.auto_tree) if args.auto_tree else None
    servers = [server for server in (auto, roomy, h11, baseline, other_auto) if server is not None]
    cases = [
        ("raw ASGI, uvicorn+httptools (ceiling)", raw_fast, "/b/x/bench", post),
        ("raw ASGI, uvicorn+h11", raw_h11, "/b/x/bench", post),
        ("inspector --http auto (default)", auto, None, post),
        ("inspector --http auto, bin below its limit", roomy, None, post),
        ("inspector --http auto, 95% POST / 5% PROPFIND+FOO", auto, None, mix),
        ("inspector --http h11", h11, None, post),
    ]
    if baseline:
        cases.append((f"inspector before the change ({args.baseline_tree}, h11)", baseline, None, post))
    if other_auto:
        cases.append((f"inspector from {args.auto_tree}, --http auto", other_auto, None, post))
        cases.append((f"inspector from {args.auto_tree}, --http auto, 95/5 mix", other_auto, None, mix))
    runs: dict[str, list[tuple[Run, float]]] = {name: [] for name, *_ in cases}
    rss: dict[str, list[int]] = {}
    try:
        targets = {}
        for name, server, path, _ in cases:
            if path is None:
                bin_id = httpx.post(f"{server.url}/api/bins").json()["id"]
                path = f"/b/{bin_id}/bench"
            targets[name] = f"{server.url}{path}"
        warm = argparse.Namespace(**{**vars(args), "duration": 2})
        for name, _, _, script in cases:  # warm up; this also fills each bin to its limit
            wrk(targets[name], warm, script)
        for server in servers:
            rss[server.url] = [rss_kib(server.process.pid)]
        for _ in range(args.runs):
            for name, server, _, script in cases:  # alternating: drift hits each alike
                before = cpu_seconds([server.process.pid])
                run = wrk(targets[name], args, script)
                used = cpu_seconds([server.process.pid]) - before
                runs[name].append((run, used / max(1, run.completed - run.non_2xx) * 1e6))
        for server in servers:
            rss[server.url].append(rss_kib(server.process.pid))
        odd = {
            method: httpx.request(method, targets[cases[2][0]] + "/odd", content=b"x").status_code
            for method in ("FOO", "PROPFIND", "get")
        }
    finally:
        for server in (raw_fast, raw_h11, *servers):
            server.stop()
    ceiling = statistics.median(run.requests_per_s for run, _ in runs[cases[0][0]])
    results = []
    for name, server, _, _ in cases:
        measured = runs[name]
        rps = statistics.median(run.requests_per_s for run, _ in measured)
        results.append(
            {
                "server": name,
                "requests_per_s": rps,
                "vs_ceiling": rps / ceiling,
                "cpu_us_per_request": statistics.median(cpu for _, cpu in measured),
                "p50_ms": statistics.median(run.p50_ms for run, _ in measured),
                "p99_ms": statistics.median(run.p99_ms for run, _ in measured),
                "non_2xx": sum(run.non_2xx for run, _ in measured),
                "errors": sum(run.errors for run, _ in measured),
                "rss_mib": [kib / 1024 for kib in rss.get(server.url, [])],
                "runs": [{**asdict(run), "cpu_us": cpu} for run, cpu in measured],
            }
        )
    results.append({"odd_methods_on_default": odd})
    return results


def print_compare(results: list[dict], args: argparse.Namespace) -> None:
    load = f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s on CPU {args.load_cpu}"
    print(
        f"\n1 KB JSON to one bin (at its limit unless said), {load}, server on CPU {args.server_cpu},"
        f" median of {args.runs} alternating runs\n"
    )
    print("| server | req/s | vs ceiling | server CPU µs per request | p50 / p99 ms | non-2xx | RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results[:-1]:
        memory = " -> ".join(f"{mib:.1f}" for mib in r["rss_mib"]) or "-"
        print(
            f"| {r['server']} | {r['requests_per_s']:,.0f} | {r['vs_ceiling']:.2f}x |"
            f" {r['cpu_us_per_request']:.0f} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} |"
            f" {r['non_2xx']} | {memory} |"
        )
    print(f"\nodd methods on the default server: {results[-1]['odd_methods_on_default']}")


ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """A process and all its descendants (uvicorn's workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            todo += [int(child) for child in task.read_text().split()]
    return found


def named(command: str) -> list[int]:
    """Pids of the processes running this program (postgres, redis-server)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == command:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def admin(sql: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


class ScaleOutServer:
    """`inspector serve` on SQLite, or with N workers on PostgreSQL and Redis; unpinned."""

    def __init__(self, name: str, workers: int, workdir: Path, redis_db: int) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = f"bench_{os.getpid()}_{self.port}" if workers else None
        command = [
            sys.executable,
            "-m",
            "inspector",
            "serve",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        command += ["--max-requests", "1000", "--db", str(workdir / f"{self.port}.db")]
        if self.database:
            admin(f"CREATE DATABASE {self.database}")
            command += ["--database-url", f"postgresql://postgres@127.0.0.1:5432/{self.database}"]
            command += ["--hub-url", f"redis://127.0.0.1:6379/{redis_db}", "--workers", str(workers)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_healthy(f"{self.url}/healthz", self.process)
        time.sleep(1 + workers)  # every worker up, not only the first to answer
        # Several users' bins, as on a shared deployment: captures to one bin take turns at its lock.
        self.bin_ids = [httpx.post(f"{self.url}/api/bins").json()["id"] for _ in range(BINS)]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)
        if self.database:
            admin(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


BINS = 20


def rotating_script(workdir: Path, bin_ids: list[str]) -> Path:
    """A wrk script that POSTs to each of the bins in turn."""
    script = workdir / f"rotate-{bin_ids[0]}.lua"
    paths = ", ".join(json.dumps(f"/b/{bin_id}/bench") for bin_id in bin_ids)
    script.write_text(
        f"local paths = {{{paths}}}\n"
        "local n = 0\n"
        f"local body = {json.dumps(BODY)}\n"
        "request = function()\n"
        "  n = n + 1\n"
        '  return wrk.format("POST", paths[n % #paths + 1], {["Content-Type"] = "application/json"}, body)\n'
        "end\n"
    )
    return script


def bench_scale_out(args: argparse.Namespace, workdir: Path) -> list[dict]:
    servers = [ScaleOutServer("SQLite, 1 process", 0, workdir, 0)]
    for n, workers in enumerate(args.workers):
        servers.append(ScaleOutServer(f"PostgreSQL+Redis, {workers} process(es)", workers, workdir, 10 + n))
    runs: dict[str, list[tuple[Run, dict[str, float]]]] = {server.name: [] for server in servers}
    try:
        warm = argparse.Namespace(**{**vars(args), "duration": 2})
        scripts = {server.name: rotating_script(workdir, server.bin_ids) for server in servers}
        for server in servers:
            wrk(server.url, warm, scripts[server.name])
        for _ in range(args.runs):
            for server in servers:  # alternating: drift on a shared machine hits each alike
                parts = {
                    "server": lambda s=server: family(s.process.pid),
                    "postgresql": lambda: named("postgres"),
                    "redis": lambda: named("redis-server"),
                }
                before = {part: cpu_seconds(pids()) for part, pids in parts.items()}
                run = wrk(server.url, args, scripts[server.name])
                captures = max(1, run.completed - run.non_2xx)
                used = {
                    part: (cpu_seconds(pids()) - before[part]) / captures * 1e6
                    for part, pids in parts.items()
                }
                runs[server.name].append((run, used))
    finally:
        for server in servers:
            server.stop()
    baseline = statistics.median(run.requests_per_s for run, _ in runs[servers[0].name])
    results = []
    for server in servers:
        measured = runs[server.name]
        rps = statistics.median(run.requests_per_s for run, _ in measured)
        results.append(
            {
                "server": server.name,
                "requests_per_s": rps,
                "ratio_to_sqlite": rps / baseline,
                "p50_ms": statistics.median(run.p50_ms for run, _ in measured),
                "p99_ms": statistics.median(run.p99_ms for run, _ in measured),
                "non_2xx": sum(run.non_2xx for run, _ in measured),
                "cpu_us_per_capture": {
                    part: statistics.median(used[part] for _, used in measured) for part in measured[0][1]
                },
            }
        )
    return results


def print_scale_out(results: list[dict], args: argparse.Namespace) -> None:
    load = f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s on CPU {args.load_cpu}"
    print(
        f"\n1 KB JSON POSTs to {BINS} bins in turn, {load}, median of {args.runs} alternating runs;"
        " servers on every CPU\n"
    )
    print("| server | req/s | vs SQLite | p50 / p99 ms | CPU µs per capture: server / PostgreSQL / Redis |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        cpu = r["cpu_us_per_capture"]
        print(
            f"| {r['server']} | {r['requests_per_s']:,.0f} | {r['ratio_to_sqlite']:.2f}x |"
            f" {r['p50_ms']:.2f} / {r['p99_ms']:.2f} |"
            f" {cpu['server']:.0f} / {cpu['postgresql']:.0f} / {cpu['redis']:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3, help="runs per server; medians are reported")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parsers", default="h11,httptools", help="comma-separated: auto, h11, httptools")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="the default server vs raw ASGI (httptools, h11), --http h11 and a 95/5 method mix",
    )
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        help="with --compare, also run `inspector serve` from this checkout (say, `git worktree add`"
        " of the commit before a change)",
    )
    parser.add_argument(
        "--auto-tree",
        type=Path,
        help="with --compare, also run the default server (--http auto) from this checkout, all-POST"
        " and under the method mix (say, the main branch against a change to the HTTP layer)",
    )
    parser.add_argument("--synchronous", default="full", help="SQLite synchronous setting for the server")
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--load-cpu", default="1")
    parser.add_argument("--output", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--scale-out", action="store_true", help="SQLite against --workers 1, 2, 4 on PostgreSQL+Redis"
    )
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2, 4],
        help="comma-separated worker counts for --scale-out",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    if args.compare:
        with tempfile.TemporaryDirectory() as tmp:
            compared = bench_compare(args, Path(tmp))
        print_compare(compared, args)
        if args.output:
            args.output.write_text(json.dumps(compared, indent=2))
        return
    if args.scale_out:
        with tempfile.TemporaryDirectory() as tmp:
            scaled = bench_scale_out(args, Path(tmp))
        print_scale_out(scaled, args)
        if args.output:
            args.output.write_text(json.dumps(scaled, indent=2))
        return

    with tempfile.TemporaryDirectory() as tmp:
        results = [bench_parser(p.strip(), args, Path(tmp)) for p in args.parsers.split(",")]

    load = f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, median of {args.runs}"
    pins = f"server on CPU {args.server_cpu}, wrk on CPU {args.load_cpu}"
    print(f"\n1 KB JSON POST, {load}; {pins}; SQLite synchronous={args.synchronous}\n")
    print(
        "| parser | raw ASGI req/s | inspector req/s | ratio | inspector p50 / p99 ms | raw p50 / p99 ms |"
        " RSS before -> after | committed >= acked | FOO captured |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        raw, ours = r["raw_asgi"], r["inspector"]
        print(
            f"| {r['parser']} | {raw['requests_per_s']:,.0f} | {ours['requests_per_s']:,.0f} |"
            f" {r['ratio']:.2f}x | {ours['p50_ms']:.2f} / {ours['p99_ms']:.2f} |"
            f" {raw['p50_ms']:.2f} / {raw['p99_ms']:.2f} |"
            f" {r['rss_kib_before'] / 1024:.1f} -> {r['rss_kib_after'] / 1024:.1f} MiB |"
            f" {r['stored']} >= {r['acknowledged_in_runs']}: {r['stored'] >= r['acknowledged_in_runs']} |"
            f" {'yes' if r['foo_method_captured'] else 'no (400 from the parser)'} |"
        )
    if len(results) > 1:
        best_raw = max(results, key=lambda r: r["raw_asgi"]["requests_per_s"])
        for r in results:
            print(
                f"\n{r['parser']} inspector vs fastest raw ceiling ({best_raw['parser']}):"
                f" {r['inspector']['requests_per_s'] / best_raw['raw_asgi']['requests_per_s']:.2f}x"
            )
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
