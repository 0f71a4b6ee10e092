"""Structured logs: one JSON object per line for machines, readable lines on a terminal."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import structlog

from inspector.extensions import RESPOND
from inspector.proxies import TrustedProxies, scope_origin

ASGIApp = Callable[[Any, Any, Any], Any]

# ?token= and ?share= open private bins: a log line must not be a way in.
_TOKEN_IN_QUERY = re.compile(r"([?&](?:token|share)=)[^&#\s]*")


def redact_tokens(text: str) -> str:
    return _TOKEN_IN_QUERY.sub(r"\1REDACTED", text)


class _RedactTokens(logging.Filter):
    """uvicorn's access log writes each request's path with its query: tokens are blanked there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_tokens(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """Route structlog and the standard library (uvicorn included) through one formatter."""
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # With --workers several processes write to one stream: say which one wrote each line.
        structlog.processors.CallsiteParameterAdder([structlog.processors.CallsiteParameter.PROCESS]),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    access.filters = [f for f in access.filters if not isinstance(f, _RedactTokens)]
    access.addFilter(_RedactTokens())


class AccessLog:
    """One structured line per HTTP request (`--access-log`), written when its answer's head goes out.

    Fields rather than a sentence: method, path (with the query, tokens blanked), status,
    duration_ms (to the answer's head: a live stream is logged when it opens, not hours later when
    it ends), client (the proxy-aware address, as limits see it), peer and http_version. The event
    repeats "METHOD path status" for people reading a console. A request that ends without an
    answer (the client went away) is logged as it ends, with status null.
    """

    def __init__(self, app: ASGIApp, trusted: TrustedProxies) -> None:
        self._app = app
        self._trusted = trusted
        self._log = structlog.get_logger("inspector.access")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        logged = False
        extensions = scope.get("extensions") or {}
        if RESPOND in extensions:
            # The capture app's one-write answers bypass send, where the status is read: not here.
            scope = {**scope, "extensions": {k: v for k, v in extensions.items() if k != RESPOND}}

        def write(status: int | None) -> None:
            nonlocal logged
            logged = True
            path = scope.get("raw_path") or scope["path"].encode()
            if scope.get("query_string"):
                path += b"?" + scope["query_string"]
            shown = redact_tokens(path.decode("latin-1"))
            peer = scope.get("client") or (None, None)
            self._log.info(
                f"{scope['method']} {shown} {status if status is not None else '-'}",
                method=scope["method"],
                path=shown,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                client=scope_origin(scope, self._trusted)[0],
                peer=f"{peer[0]}:{peer[1]}" if peer[0] is not None else None,
                http_version=scope.get("http_version"),
            )

        async def send_logged(message: Any) -> None:
            if message["type"] == "http.response.start" and not logged:
                write(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_logged)
        except Exception:
            if not logged:
                write(500)
            raise
        finally:
            if not logged:  # cancelled or returned without an answer: the client went away
                write(None)
