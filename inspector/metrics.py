"""Prometheus metrics: what the capture path, the store, live streams and auto-forward are doing."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import Any

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from inspector.store import Store

log = structlog.get_logger(__name__)

ASGIApp = Callable[[Any, Any, Any], Any]

# Outcomes of one auto-forward attempt, as Deliveries reports them.
FORWARD_OUTCOMES = ("delivered", "retrying", "failed")
# Queues the store reports on (Store.queue_depths), always exported, 0 when empty.
QUEUES = ("commit", "forward", "check")


# Seconds from a capture's arrival to its answer's head: the bounds of the latency histogram.
CAPTURE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class CaptureTally(Collector):
    """Capture answers by status, and their latency as a histogram, counted in plain numbers.

    Counted on the event loop's thread alone, so without the lock each prometheus_client `inc` and
    `observe` takes (they were about 4% of a capture's CPU), and exported when scraped, as the
    counter `inspector_captures_total{status}` and the histogram `inspector_capture_duration_seconds`.
    """

    def __init__(self) -> None:
        self._statuses: dict[int | None, int] = {}
        # One count per bucket (the last: above every bound), not yet cumulative.
        self._buckets = [0] * (len(CAPTURE_BUCKETS) + 1)
        self._sum = 0.0

    def took(self, seconds: float) -> None:
        self._buckets[bisect.bisect_left(CAPTURE_BUCKETS, seconds)] += 1
        self._sum += seconds

    def answered(self, status: int | None) -> None:
        self._statuses[status] = self._statuses.get(status, 0) + 1

    def collect(self) -> Iterator[Metric]:
        answers = CounterMetricFamily(
            "inspector_captures",
            "Requests to capture URLs, by the HTTP status of the answer ('none': the client went away first)",
            labels=["status"],
        )
        for status, count in sorted(self._statuses.items(), key=lambda item: item[0] or 0):
            answers.add_metric([str(status) if status else "none"], count)
        yield answers
        cumulative, running = [], 0
        for bound, count in zip([*map(floatToGoString, CAPTURE_BUCKETS), "+Inf"], self._buckets, strict=True):
            running += count
            cumulative.append((bound, running))
        yield HistogramMetricFamily(
            "inspector_capture_duration_seconds",
            "From a capture request's arrival to its answer's head, a bin's configured delay included",
            buckets=cumulative,
            sum_value=self._sum,
        )


class Metrics:
    """The server's metrics, in a registry of its own (not prometheus_client's global one).

    One registry per app: several apps in one process (tests, embedding) never share counters.
    Labels never carry bin ids or paths: those are unbounded, and metrics are readable by anyone the
    operator lets scrape them.
    """

    def __init__(self) -> None:
        # The *_created series (when each counter was made) only double the output; this process
        # serves one app, so turning them off for the process is harmless.
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        self.captures = CaptureTally()
        self.registry.register(self.captures)
        self.commit_batch = Histogram(
            "inspector_store_commit_batch_size",
            "Captures written by one group commit of the store",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096),
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "inspector_store_commit_duration_seconds",
            "Time one group commit of captures takes, fsync included",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.live_subscribers = Gauge(
            "inspector_live_subscribers",
            "Live streams open now in this process (dashboards, API streams, smee clients)",
            registry=self.registry,
        )
        self.forwards = Counter(
            "inspector_forward_deliveries",
            "Auto-forward attempts by outcome: delivered, retrying (will be tried again), failed (for good)",
            ["outcome"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "inspector_queue_depth",
            "Work waiting: commit (captures waiting for this process's writer), forward (deliveries "
            "pending in the store), check (signature checks waiting in the store)",
            ["queue"],
            registry=self.registry,
        )
        # Label values known in advance are exported at 0 from the start, so rates work from the
        # first scrape and a dashboard shows 0, not "no data".
        for outcome in FORWARD_OUTCOMES:
            self.forwards.labels(outcome)
        for queue in QUEUES:
            self.queue_depth.labels(queue)

    # -- what other parts call -----------------------------------------------------------

    def committed(self, size: int, seconds: float) -> None:
        """A group commit of `size` captures took `seconds` (the store's commit observer)."""
        self.commit_batch.observe(size)
        self.commit_seconds.observe(seconds)

    def forwarded(self, outcome: str) -> None:
        """One auto-forward attempt ended this way (Deliveries' observer)."""
        self.forwards.labels(outcome).inc()

    # -- scraping ------------------------------------------------------------------------

    async def render(self, store: Store, live_subscribers: int) -> bytes:
        """The text exposition format, with the gauges read now."""
        self.live_subscribers.set(live_subscribers)
        try:
            depths = await store.queue_depths()
        except Exception as exc:
            # A scrape must still answer while the database does not: the counters matter most then.
            log.warning("queue depths unavailable", error=str(exc))
            depths = {}
        for queue, depth in depths.items():
            self.queue_depth.labels(queue).set(depth)
        return generate_latest(self.registry)
