"""create_app: wires settings, store, hub, capture, API and pages into one ASGI application."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import structlog
from litestar import Litestar
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from inspector import __version__, fixed_bins
from inspector.autoverify import AutoVerifier
from inspector.bincache import BinCache
from inspector.capture import Capture, is_capture_path
from inspector.config import (
    PUBLIC_BIN_RATE,
    PUBLIC_CLIENT_RATE,
    Settings,
    database_name,
    effective_limit,
    target_policy,
    this_server,
)
from inspector.deliveries import Deliveries
from inspector.hub import Hub
from inspector.hub.local import LocalHub
from inspector.hub.redis import RedisHub
from inspector.logs import AccessLog
from inspector.metrics import ASGIApp, Metrics
from inspector.ratelimit import RateLimiter
from inspector.ratelimit.local import LocalRateLimiter
from inspector.ratelimit.redis import RedisRateLimiter
from inspector.store import SchemaTooNew, Store, StoreLocked, StoreUnavailable
from inspector.store.postgres import PostgresStore
from inspector.store.sqlite import SQLiteStore
from inspector.sweeper import Sweeper
from inspector.web.access import bin_guard
from inspector.web.api import BinsController
from inspector.web.csrf import CrossSiteGuard
from inspector.web.deliveries import DeliveriesController
from inspector.web.deps import provide
from inspector.web.endings import finish_responses
from inspector.web.health import healthz, store_unavailable
from inspector.web.live import LiveViews, SmeeChannel, StreamCaps, html_events, json_events, wait_next
from inspector.web.metrics import metrics as metrics_endpoint
from inspector.web.openapi import ExactJsonRenderPlugin, api_docs, operation_id
from inspector.web.pages import (
    access_denied_page,
    attempt_panel,
    bin_page,
    compare_panel,
    create_bin,
    forget_secret,
    forward_panel,
    home,
    older_rows,
    replay_panel,
    request_page,
    response_panel,
    settings_change,
    settings_page,
    sign_panel,
    trigger_panel,
    verify_panel,
)
from inspector.web.security import SecurityHeaders
from inspector.web.signatures import SignaturesController
from inspector.web.templating import create_environment

log = structlog.get_logger(__name__)

# Allocations, less deallocations, between two young-generation collections (Python's default: 700).
GC_YOUNG_THRESHOLD = 20_000


def _resource_dir(name: str) -> Path:
    """templates/ and static/ sit beside the package in a checkout and inside it in a wheel."""
    package = Path(__file__).resolve().parent
    bundled = package / f"_{name}"
    return bundled if bundled.is_dir() else package.parent / name


class InspectorApp:
    """The ASGI entry point: /b/... goes straight to capture, everything else (and lifespan) to Litestar.

    Capture sits outside Litestar because its router only knows the standard HTTP methods,
    while a bin must take any method token and see the path exactly as sent.
    """

    def __init__(
        self, settings: Settings, store: Store, hub: Hub, web: Litestar, capture: ASGIApp, smee: SmeeChannel
    ) -> None:
        self.settings = settings
        self.store = store
        self.hub = hub
        self.web = web
        self._capture = capture
        # Streams (the smee channel, live views) must end their responses even when stopped at shutdown.
        self._smee = finish_responses(smee)
        self._pages = finish_responses(
            SecurityHeaders(CrossSiteGuard(web, settings.trusted_proxies, settings.public_url))
        )
        self._handle: ASGIApp = self._route
        if settings.access_log:
            self._handle = AccessLog(self._route, settings.trusted_proxies)
        # Set when start-up refuses the database for a reason the operator must act on.
        self.refusal: Exception | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._pages(scope, receive, self._lifespan_send(send))
        else:
            await self._handle(scope, receive, send)

    async def _route(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and is_capture_path(scope["path"]):
            # smee-client listens on the channel URL itself, asking for an event stream.
            if SmeeChannel.wants(scope):
                await self._smee(scope, receive, send)
            else:
                await self._capture(scope, receive, send)
        else:
            await self._pages(scope, receive, send)

    def _lifespan_send(self, send: Any) -> Any:
        """Say why start-up failed in one line when the operator must act (a newer schema, a locked file).

        Litestar reports a failed start-up as a traceback, which buries the one sentence that matters.
        """

        async def lifespan_send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.failed" and self.refusal is not None:
                message = {**message, "message": f"cannot start: {self.refusal}"}
            await send(message)

        return lifespan_send


def make_hub(settings: Settings) -> Hub:
    """Redis when processes share the work (`hub_url`), otherwise in this process."""
    return RedisHub(settings.hub_url) if settings.hub_url else LocalHub()


def make_rate_limiters(settings: Settings) -> tuple[RateLimiter | None, RateLimiter | None]:
    """Capture's limiters per bin and per client address (None: off), with bursts of twice the rate.

    Through Redis when processes share the work (`hub_url`), so each budget holds across all of them.
    """

    def limiter(name: str, rate: float) -> RateLimiter | None:
        if not rate:
            return None
        burst = max(1, int(rate * 2))
        if settings.hub_url:
            return RedisRateLimiter(settings.hub_url, rate, burst, name=name)
        return LocalRateLimiter(rate, burst)

    return (
        limiter("bin", effective_limit(settings.bin_rate_limit, PUBLIC_BIN_RATE, settings)),
        limiter("client", effective_limit(settings.client_rate_limit, PUBLIC_CLIENT_RATE, settings)),
    )


def make_store(settings: Settings) -> Store:
    """PostgreSQL when processes share the work (`database_url`), otherwise the SQLite file."""
    if settings.database_url:
        return PostgresStore(settings.database_url, max_requests=settings.max_requests)
    return SQLiteStore(
        settings.db_path, synchronous=settings.sqlite_synchronous, max_requests=settings.max_requests
    )


def create_app(settings: Settings, *, store: Store | None = None, hub: Hub | None = None) -> InspectorApp:
    store = store or make_store(settings)
    hub = hub or make_hub(settings)
    metrics = Metrics()
    store.commit_observer = metrics.committed
    bins = BinCache(store, hub)
    bin_limiter, client_limiter = make_rate_limiters(settings)
    verifier = AutoVerifier(store, hub)
    deliveries = Deliveries(
        store,
        hub,
        target_policy(settings),
        timeout=settings.delivery_timeout_seconds,
        retry_seconds=settings.forward_retry_seconds,
        max_attempts=settings.forward_max_attempts,
        max_pending=settings.forward_max_pending,
        budget=settings.forward_budget,
        this_server=this_server(settings),
        allow_self_forward=settings.allow_self_forward,
        observer=metrics.forwarded,
    )
    templates = create_environment(_resource_dir("templates"))
    live = LiveViews(store, templates)
    streams = StreamCaps(
        settings.max_streams_per_bin, settings.max_streams_per_client, settings.trusted_proxies
    )
    capture = Capture(
        settings,
        bins,
        store,
        hub,
        bin_limiter=bin_limiter,
        client_limiter=client_limiter,
        tally=metrics.captures,
    )
    sweeper = Sweeper(
        store, bins, interval=settings.sweep_interval_seconds, max_stored_bytes=settings.max_stored_bytes
    )
    max_delay_ms = int(settings.max_response_delay_seconds * 1000)
    declared = fixed_bins.load(settings.bins_file, max_delay_ms=max_delay_ms) if settings.bins_file else []

    started = asyncio.Event()

    async def start() -> None:
        try:
            await store.open()
        except (SchemaTooNew, StoreLocked) as exc:
            app.refusal = exc
            raise
        await hub.open()
        await fixed_bins.ensure(store, declared)
        for fixed in declared:  # other processes may have them cached as they were
            await bins.changed(fixed.name)
        bins.start()
        verifier.start()
        deliveries.start()
        sweeper.start()
        # What start-up built lives as long as the process: frozen out of the collector's way, each
        # full collection walks only what requests made since (about 4% of a capture's CPU before).
        gc.freeze()
        # A capture allocates a few hundred objects that die with it. At the default 700, a young
        # collection ran every few captures and walked the in-flight ones, which then aged into
        # older generations and were walked again; at this size most are gone before it runs.
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        started.set()
        log.info("store ready", database=database_name(settings))

    async def stop() -> None:
        # Background work first, then the hub: ending live streams lets their connections close
        # before the store goes.
        await sweeper.stop()
        await verifier.stop()
        await deliveries.stop()
        await bins.stop()
        await hub.close()
        for limiter in (bin_limiter, client_limiter):
            if limiter is not None:
                await limiter.close()
        await store.close()
        if started.is_set():  # after a refused start-up, its own error is the last word
            log.info("stopped cleanly")

    async def log_server_error(exc: Exception, scope: Any) -> None:
        # Client errors (4xx) are answered and expected, and the store logs its own failures;
        # anything else is a bug worth a traceback.
        if isinstance(exc, StoreUnavailable):
            return
        if not isinstance(exc, HTTPException) or exc.status_code >= 500:
            log.error("request failed", path=scope.get("path"), exc_info=exc)

    web = Litestar(
        route_handlers=[
            BinsController,
            healthz,
            metrics_endpoint,
            api_docs,
            home,
            create_bin,
            bin_page,
            older_rows,
            request_page,
            verify_panel,
            forget_secret,
            sign_panel,
            trigger_panel,
            replay_panel,
            attempt_panel,
            compare_panel,
            forward_panel,
            response_panel,
            settings_page,
            settings_change,
            SignaturesController,
            DeliveriesController,
            html_events,
            json_events,
            wait_next,
            create_static_files_router(path="/static", directories=[_resource_dir("static")]),
        ],
        dependencies=provide(store, hub, bins, settings),
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(templates)),
        state=State(
            {
                "bins": bins,
                "live": live,
                "streams": streams,
                "deliveries": deliveries,
                "store": store,
                "refused": capture.refused,
                "metrics": metrics,
            }
        ),
        guards=[bin_guard],
        exception_handlers={
            NotAuthorizedException: access_denied_page,
            PermissionDeniedException: access_denied_page,
            StoreUnavailable: store_unavailable,
        },
        openapi_config=OpenAPIConfig(
            title="Webhook Inspector",
            version=__version__,
            path="/api/schema",
            render_plugins=[ExactJsonRenderPlugin()],
            operation_id_creator=operation_id,
        ),
        after_exception=[log_server_error],
        on_startup=[start],
        on_shutdown=[stop],
        logging_config=None,
    )
    smee = SmeeChannel(store, hub, live, streams, settings.sse_ping_seconds)
    app = InspectorApp(settings, store, hub, web, capture, smee)
    return app
