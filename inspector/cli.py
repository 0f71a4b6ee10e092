"""The `inspector` command line: `inspector serve` runs the server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import structlog
import uvicorn

from inspector import __version__
from inspector.config import (
    HTTP_PARSERS,
    LOG_FORMATS,
    Settings,
    default_db_path,
    format_size,
    parse_public_url,
    parse_size,
)
from inspector.proxies import TrustedProxies
from inspector.store.sqlite import SYNCHRONOUS_MODES

T = TypeVar("T")
defaults = Settings(db_path=Path("inspector.db"))


def _parsed(parse: Callable[[Any], T]) -> Callable[[click.Context, click.Parameter, Any], T | None]:
    """A click callback turning a parser's ValueError into a clear usage error."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="inspector")
def main() -> None:
    """Webhook Inspector: capture webhooks exactly, watch them live, replay them, check signatures."""


@main.command()
@click.option(
    "--host",
    default=defaults.host,
    envvar="INSPECTOR_HOST",
    show_envvar=True,
    help="Address to listen on; 0.0.0.0 to accept connections from other machines.",
)
@click.option(
    "--port",
    default=defaults.port,
    type=click.IntRange(0, 65535),
    envvar="INSPECTOR_PORT",
    show_envvar=True,
    help="TCP port to listen on.",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="INSPECTOR_DB",
    show_envvar=True,
    help=f"SQLite database file, created if missing.  [default: {default_db_path()}]",
)
@click.option(
    "--public-url",
    envvar="INSPECTOR_PUBLIC_URL",
    show_envvar=True,
    callback=_parsed(parse_public_url),
    help="Base URL senders reach this server at (behind a proxy or tunnel); used in capture URLs.",
)
@click.option(
    "--max-body-size",
    default=format_size(defaults.max_body_size).replace(" ", ""),
    envvar="INSPECTOR_MAX_BODY_SIZE",
    show_envvar=True,
    callback=_parsed(parse_size),
    help="Largest body a bin accepts (e.g. 512KiB, 10MiB); larger ones get 413 and are logged as tried.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    envvar="INSPECTOR_TRUSTED_PROXIES",
    show_envvar=True,
    callback=_parsed(TrustedProxies.parse),
    help="Proxy address or CIDR whose X-Forwarded-For/Forwarded headers are believed; repeatable.",
)
@click.option(
    "--bin-ttl",
    "bin_ttl_seconds",
    default=defaults.bin_ttl_seconds,
    type=click.IntRange(60),
    envvar="INSPECTOR_BIN_TTL",
    show_envvar=True,
    help="Seconds a new bin lives before it expires.",
)
@click.option(
    "--sqlite-synchronous",
    default=defaults.sqlite_synchronous,
    type=click.Choice(SYNCHRONOUS_MODES),
    envvar="INSPECTOR_SQLITE_SYNCHRONOUS",
    show_envvar=True,
    help="full survives power loss; normal survives a crash of the server process only (docs/durability.md).",
)
@click.option(
    "--http",
    "http_parser",
    default=defaults.http_parser,
    type=click.Choice(HTTP_PARSERS),
    envvar="INSPECTOR_HTTP",
    show_envvar=True,
    help="HTTP parser: h11 captures any method token; httptools is faster but refuses unknown ones.",
)
@click.option(
    "--sse-ping",
    "sse_ping_seconds",
    default=defaults.sse_ping_seconds,
    type=click.FloatRange(0.1),
    envvar="INSPECTOR_SSE_PING",
    show_envvar=True,
    help="Seconds between keep-alive pings on live streams.",
)
@click.option(
    "--access-log/--no-access-log",
    default=defaults.access_log,
    envvar="INSPECTOR_ACCESS_LOG",
    show_envvar=True,
    help="Log every HTTP request.",
)
@click.option(
    "--log-level",
    default=defaults.log_level,
    type=click.Choice(["debug", "info", "warning", "error"]),
    envvar="INSPECTOR_LOG_LEVEL",
    show_envvar=True,
    help="Least severe log level written.",
)
@click.option(
    "--log-format",
    default=defaults.log_format,
    type=click.Choice(LOG_FORMATS),
    envvar="INSPECTOR_LOG_FORMAT",
    show_envvar=True,
    help="json: one object per line; console: for people; auto: console on a terminal.",
)
def serve(**options: Any) -> None:
    """Run the server: bins capture at /b/{bin}, the API lives under /api."""
    from inspector.app import create_app
    from inspector.logs import configure_logging

    if options["db_path"] is None:
        options["db_path"] = default_db_path()
    try:
        settings = Settings(**options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    configure_logging(settings.log_level, settings.log_format)
    structlog.get_logger("inspector").info(
        "starting Webhook Inspector",
        url=f"http://{settings.host}:{settings.port}",
        database=str(settings.db_path.resolve()),
        http_parser=settings.http_parser,
        max_body_size=settings.max_body_size,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            http=settings.http_parser,
            lifespan="on",
            log_config=None,
            access_log=settings.access_log,
            server_header=False,
            # Proxy headers are read by inspector.proxies, from the configured proxies only.
            proxy_headers=False,
            # Live streams never end on their own; give them a bounded time to close on shutdown.
            timeout_graceful_shutdown=10,
        )
    )
    server.run()
