"""GET /metrics as Prometheus reads it: parsed by prometheus_client while real traffic moves it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
from conftest import HANG, free_port, read_sse
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from inspector.metrics import Metrics

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str, **headers: str) -> Samples:
    answer = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_capture_counters_and_commit_batches_move_as_captures_arrive(start_server) -> None:
    server = start_server("--max-body-size", "1KiB")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        bin_id = http.post("/api/bins").json()["id"]
        before = scrape(server.url)
        assert value(before, "inspector_queue_depth", queue="commit") == 0
        for n in range(20):
            assert http.post(f"/b/{bin_id}/{n}", content=b"x").status_code == 200
        assert http.post(f"/b/{bin_id}", content=b"x" * 2048).status_code == 413  # recorded as tried
        assert http.post("/b/no-such-bin").status_code == 404
        # A burst from parallel clients: group commit takes several captures per batch.
        threads = [
            threading.Thread(target=lambda: httpx.post(f"{server.url}/b/{bin_id}/burst", timeout=10))
            for _ in range(30)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    after = scrape(server.url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("inspector_captures_total", status="200") == 50
    assert moved("inspector_captures_total", status="413") == 1
    assert moved("inspector_captures_total", status="404") == 1
    assert moved("inspector_capture_duration_seconds_count") == 52
    assert 0 < moved("inspector_capture_duration_seconds_sum") < 52 * 5
    assert moved("inspector_capture_duration_seconds_bucket", le="+Inf") == 52
    # Every stored capture (the 413 is stored as an attempt; the 404 is not) went through one commit.
    assert moved("inspector_store_commit_batch_size_sum") == 51
    assert 0 < moved("inspector_store_commit_batch_size_count") <= 51
    assert moved("inspector_store_commit_duration_seconds_count") == moved(
        "inspector_store_commit_batch_size_count"
    )


def test_live_subscribers_count_open_streams(start_server) -> None:
    server = start_server()
    bin_id = httpx.post(f"{server.url}/api/bins").json()["id"]
    assert value(scrape(server.url), "inspector_live_subscribers") == 0
    with (
        httpx.Client(base_url=server.url, timeout=10) as http,
        http.stream("GET", f"/api/bins/{bin_id}/stream") as stream,
    ):
        events = read_sse(stream)
        httpx.post(f"{server.url}/b/{bin_id}")
        next(event for event in events if event.get("event") == "request")
        assert value(scrape(server.url), "inspector_live_subscribers") == 1
    wait_for(lambda: value(scrape(server.url), "inspector_live_subscribers") == 0)


def test_forward_outcomes_and_the_pending_queue(start_server, recording_target) -> None:
    server = start_server("--forward-retry", "30", "--forward-attempts", "2", "--delivery-timeout", "20")
    steady = recording_target()
    hanging = recording_target(lambda recorded: HANG)
    closed = f"http://127.0.0.1:{free_port()}/nobody"
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert value(scrape(server.url), "inspector_forward_deliveries_total", outcome="delivered") == 0
        ok, retried, stuck = (http.post("/api/bins").json()["id"] for _ in range(3))
        http.put(f"/api/bins/{ok}/forward", json={"targets": [f"{steady.url}/hook"]})
        http.put(f"/api/bins/{retried}/forward", json={"targets": [closed]})
        http.put(f"/api/bins/{stuck}/forward", json={"targets": [f"{hanging.url}/hook"]})
        for bin_id in (ok, ok, retried, stuck):
            assert http.post(f"/b/{bin_id}").status_code == 200
    wait_for(
        lambda: (
            value(scrape(server.url), "inspector_forward_deliveries_total", outcome="delivered") == 2
            and value(scrape(server.url), "inspector_forward_deliveries_total", outcome="retrying") == 1
        )
    )
    hanging.wait_for(1)
    samples = scrape(server.url)
    assert value(samples, "inspector_forward_deliveries_total", outcome="failed") == 0
    # Still pending: the retry waits 30 s, and the hanging target has not answered.
    assert value(samples, "inspector_queue_depth", queue="forward") == 2
    assert value(samples, "inspector_queue_depth", queue="check") == 0


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic c2VjcmV0LXRva2Vu", "Bearer"])
def test_a_metrics_token_keeps_others_out(start_server, header: str | None) -> None:
    server = start_server(env={"INSPECTOR_METRICS_TOKEN": "secret-token"})
    refused = httpx.get(f"{server.url}/metrics", headers={"authorization": header} if header else {})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert "inspector_" not in refused.text
    assert value(scrape(server.url, authorization="Bearer secret-token"), "inspector_live_subscribers") == 0


# -- the tally behind the capture metrics (inspector/metrics.py), in process --------------------
def test_the_capture_tally_exports_a_cumulative_histogram_and_counts_by_status() -> None:
    metrics = Metrics()
    for seconds in (0.0005, 0.001, 0.0011, 0.3, 99.0):  # 0.001 is on a bound: it counts as <= 0.001
        metrics.captures.took(seconds)
    for status in (200, 200, 404, None):
        metrics.captures.answered(status)
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(metrics.registry).decode())}
    answers = {s.labels["status"]: s.value for s in families["inspector_captures"].samples}
    assert answers == {"200": 2, "404": 1, "none": 1}
    samples = families["inspector_capture_duration_seconds"].samples
    buckets = {s.labels["le"]: s.value for s in samples if s.name.endswith("_bucket")}
    assert buckets["0.001"] == 2 and buckets["0.0025"] == 3 and buckets["0.5"] == 4
    assert buckets["30.0"] == 4 and buckets["+Inf"] == 5
    count = next(s.value for s in samples if s.name.endswith("_count"))
    total = next(s.value for s in samples if s.name.endswith("_sum"))
    assert count == 5 and abs(total - 99.3026) < 1e-9
