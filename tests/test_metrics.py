"""The capture tally: statuses and latency kept in plain numbers, exported as Prometheus would."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from inspector.metrics import Metrics


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
