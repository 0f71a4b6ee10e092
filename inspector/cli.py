"""The `inspector` command line: `serve` runs the server, `forward` relays a bin to a local app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import structlog

from inspector import __version__
from inspector.config import (
    HTTP_PARSERS,
    LOG_FORMATS,
    Settings,
    database_name,
    default_db_path,
    format_size,
    parse_public_url,
    parse_size,
    target_policy,
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
    "--public/--no-public",
    default=None,
    envvar="INSPECTOR_PUBLIC",
    show_envvar=True,
    help="Refuse replays and forwards to private, loopback, link-local and metadata addresses. "
    "Default: on when --host is not a loopback address.",
)
@click.option(
    "--allow-target",
    "allow_targets",
    multiple=True,
    envvar="INSPECTOR_ALLOW_TARGETS",
    show_envvar=True,
    help="Host, address or CIDR that replays and forwards may reach even with --public; repeatable.",
)
@click.option(
    "--delivery-timeout",
    "delivery_timeout_seconds",
    default=defaults.delivery_timeout_seconds,
    type=click.FloatRange(0.1, 300),
    envvar="INSPECTOR_DELIVERY_TIMEOUT",
    show_envvar=True,
    help="Seconds a replay or forward may take before it counts as timed out.",
)
@click.option(
    "--forward-retry",
    "forward_retry_seconds",
    default=defaults.forward_retry_seconds,
    type=click.FloatRange(0.01),
    envvar="INSPECTOR_FORWARD_RETRY",
    show_envvar=True,
    help="Seconds before the first auto-forward retry; each next one waits twice as long (5 min at most).",
)
@click.option(
    "--forward-attempts",
    "forward_max_attempts",
    default=defaults.forward_max_attempts,
    type=click.IntRange(1, 50),
    envvar="INSPECTOR_FORWARD_ATTEMPTS",
    show_envvar=True,
    help="Attempts per auto-forward delivery before it is marked failed.",
)
@click.option(
    "--forward-queue",
    "forward_max_pending",
    default=defaults.forward_max_pending,
    type=click.IntRange(1),
    envvar="INSPECTOR_FORWARD_QUEUE",
    show_envvar=True,
    help="Deliveries a bin may have waiting; beyond that new ones fail at once (queue full).",
)
@click.option(
    "--max-requests",
    default=defaults.max_requests,
    type=click.IntRange(1),
    envvar="INSPECTOR_MAX_REQUESTS",
    show_envvar=True,
    help="Requests a bin keeps unless it says otherwise; past that the oldest are dropped.",
)
@click.option(
    "--max-stored",
    "max_stored_bytes",
    envvar="INSPECTOR_MAX_STORED",
    show_envvar=True,
    callback=_parsed(parse_size),
    help="Cap on all stored body bytes (e.g. 5GiB); the oldest requests go first.  [default: none]",
)
@click.option(
    "--sweep-interval",
    "sweep_interval_seconds",
    default=defaults.sweep_interval_seconds,
    type=click.FloatRange(0.05),
    envvar="INSPECTOR_SWEEP_INTERVAL",
    show_envvar=True,
    help="Seconds between sweeps of expired bins (and of the stored-bytes cap).",
)
@click.option(
    "--max-delay",
    "max_response_delay_seconds",
    default=defaults.max_response_delay_seconds,
    type=click.FloatRange(0),
    envvar="INSPECTOR_MAX_DELAY",
    show_envvar=True,
    help="The longest a bin's configured answer may be delayed, in seconds.",
)
@click.option(
    "--private-bins/--open-bins",
    "private_bins",
    default=None,
    envvar="INSPECTOR_PRIVATE_BINS",
    show_envvar=True,
    help="New bins need their token to be read. Default: private when --host is beyond loopback.",
)
@click.option(
    "--bin-rate-limit",
    type=click.FloatRange(0),
    envvar="INSPECTOR_BIN_RATE_LIMIT",
    show_envvar=True,
    help="Captures per second one bin accepts (bursts of twice that), 429 beyond; 0 for none. "
    "Default: none on loopback, 50 beyond.",
)
@click.option(
    "--client-rate-limit",
    type=click.FloatRange(0),
    envvar="INSPECTOR_CLIENT_RATE_LIMIT",
    show_envvar=True,
    help="Captures per second one sender address may make; 0 for none. "
    "Default: none on loopback, 100 beyond.",
)
@click.option(
    "--max-bins-per-client",
    type=click.IntRange(0),
    envvar="INSPECTOR_MAX_BINS_PER_CLIENT",
    show_envvar=True,
    help="Live bins one address may create; 0 for no cap. Default: none on loopback, 50 beyond.",
)
@click.option(
    "--max-headers",
    default=defaults.max_headers,
    type=click.IntRange(1),
    envvar="INSPECTOR_MAX_HEADERS",
    show_envvar=True,
    help="Most headers a captured request may have (431 beyond).",
)
@click.option(
    "--max-header-bytes",
    default=format_size(defaults.max_header_bytes).replace(" ", ""),
    envvar="INSPECTOR_MAX_HEADER_BYTES",
    show_envvar=True,
    callback=_parsed(parse_size),
    help="Largest total size of a captured request's headers (431 beyond).",
)
@click.option(
    "--bins-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar="INSPECTOR_BINS_FILE",
    show_envvar=True,
    help="TOML file declaring fixed bins (name, response, private), created at start-up.",
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
    "--header-timeout",
    "header_timeout_seconds",
    default=defaults.header_timeout_seconds,
    type=click.FloatRange(0.1),
    envvar="INSPECTOR_HEADER_TIMEOUT",
    show_envvar=True,
    help="Seconds a client has to send a whole request head; then 408 (or a plain close if it sent nothing).",
)
@click.option(
    "--body-timeout",
    "body_timeout_seconds",
    default=defaults.body_timeout_seconds,
    type=click.FloatRange(0.1),
    envvar="INSPECTOR_BODY_TIMEOUT",
    show_envvar=True,
    help="Longest pause allowed inside a request body, in seconds; then 408 and nothing is recorded.",
)
@click.option(
    "--keep-alive-timeout",
    "keep_alive_timeout_seconds",
    default=defaults.keep_alive_timeout_seconds,
    type=click.FloatRange(0.1),
    envvar="INSPECTOR_KEEP_ALIVE_TIMEOUT",
    show_envvar=True,
    help="Seconds an idle kept-alive connection stays open between requests.",
)
@click.option(
    "--max-streams-per-bin",
    default=defaults.max_streams_per_bin,
    type=click.IntRange(0),
    envvar="INSPECTOR_MAX_STREAMS_PER_BIN",
    show_envvar=True,
    help="Live streams (dashboards, API streams, smee clients) open at once on one bin; "
    "429 beyond, 0 for no cap.",
)
@click.option(
    "--max-streams-per-client",
    default=defaults.max_streams_per_client,
    type=click.IntRange(0),
    envvar="INSPECTOR_MAX_STREAMS_PER_CLIENT",
    show_envvar=True,
    help="Live streams one client address may have open at once; 429 beyond, 0 for no cap.",
)
@click.option(
    "--forward-budget",
    default=defaults.forward_budget,
    type=click.IntRange(1),
    envvar="INSPECTOR_FORWARD_BUDGET",
    show_envvar=True,
    help="Auto-forwards one original request may cause in all, counting those of bins that forward "
    "to each other; past that its forwards fail with the reason.",
)
@click.option(
    "--allow-self-forward/--no-self-forward",
    default=defaults.allow_self_forward,
    envvar="INSPECTOR_ALLOW_SELF_FORWARD",
    show_envvar=True,
    help="Let bins auto-forward to this server itself (its address, its loopback aliases, "
    "--public-url); the forward budget still bounds loops. Replays may always go there.",
)
@click.option(
    "--database-url",
    default=defaults.database_url,
    envvar="INSPECTOR_DATABASE_URL",
    show_envvar=True,
    help="postgresql://user@host:5432/db: keep everything in PostgreSQL, shared by every server process "
    "(--db is then not used); default: the SQLite file",
)
@click.option(
    "--hub-url",
    default=defaults.hub_url,
    envvar="INSPECTOR_HUB_URL",
    show_envvar=True,
    help="redis://host:6379/0: share live events and rate limits between server processes; "
    "default: in this process only",
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
    from inspector.logs import configure_logging
    from inspector.server import build_server

    if options["db_path"] is None:
        options["db_path"] = default_db_path()
    try:
        settings = Settings(**options)
        policy = target_policy(settings)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    configure_logging(settings.log_level, settings.log_format)
    structlog.get_logger("inspector").info(
        "starting Webhook Inspector",
        url=f"http://{settings.host}:{settings.port}",
        database=database_name(settings),
        http_parser=settings.http_parser,
        max_body_size=settings.max_body_size,
        outbound="public addresses only" if not policy.allow_private else "any address",
    )
    build_server(settings).run()


def _since(value: str) -> str | int:
    """--since: "all" or a request id."""
    if value.strip().lower() == "all":
        return "all"
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    raise ValueError(f"{value!r} is neither 'all' nor a request id")


def _target(value: str) -> str:
    from inspector.targets import parse_target

    parse_target(value)
    return value


@main.command()
@click.argument("bin_url")
@click.option(
    "--to",
    "target",
    required=True,
    callback=_parsed(_target),
    help="Where to deliver: your app's URL, e.g. http://localhost:3000/hook. "
    "Each request's sub-path (after /b/BIN) and query are appended.",
)
@click.option(
    "--since",
    callback=_parsed(_since),
    help="Deliver earlier captures first: 'all', or a request id to start from (that request and "
    "every later one).  [default: only requests captured from now on]",
)
@click.option(
    "--token",
    envvar="INSPECTOR_TOKEN",
    show_envvar=True,
    help="Access token of a private bin, sent as 'Authorization: Bearer'. Prefer the variable: "
    "options are visible to other users of this machine.",
)
@click.option(
    "--timeout",
    default=10.0,
    type=click.FloatRange(0.1),
    help="Seconds the target has to answer each delivery.",
)
@click.option(
    "--attempts",
    default=5,
    type=click.IntRange(1, 100),
    help="Tries per request when the target is unreachable, times out or answers 5xx or 429, "
    "waiting 1, 2, 4, 8, 10 s between them; after the last the request is reported and skipped.",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File that keeps the last delivered id, so a restarted forwarder resumes where it stopped "
    "(it then takes precedence over --since).",
)
def forward(
    bin_url: str,
    target: str,
    since: str | int | None,
    token: str | None,
    timeout: float,
    attempts: int,
    state_path: Path | None,
) -> None:
    """Deliver every request a bin captures to your app, exactly once, as it arrives.

    BIN_URL is the bin's capture URL (http://HOST:PORT/b/BIN) or its dashboard page
    (http://HOST:PORT/bins/BIN); the server may be remote. Each request is sent with its method,
    headers and body bytes exactly as captured (minus hop-by-hop headers; Host is the target's).
    One line per delivery on standard output:

        HH:MM:SS  #ID  METHOD /path?query  -> STATUS  N ms

    If the connection drops or the server restarts, it reconnects and carries on after the last
    delivered request: nothing is lost and nothing is delivered twice. Ctrl-C or SIGTERM stops
    it after the delivery in flight.
    """
    from inspector.forwarder import Forwarder, parse_bin_url, run_forwarder

    try:
        server, bin_id = parse_bin_url(bin_url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="BIN_URL") from None
    after = None if since is None else 0 if since == "all" else int(since) - 1
    forwarder = Forwarder(
        server=server,
        bin_id=bin_id,
        target=target,
        after=after,
        token=token,
        timeout=timeout,
        attempts=attempts,
        state_path=state_path,
    )
    try:
        forwarder.load_state()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    raise SystemExit(run_forwarder(forwarder))


def _register_commands() -> None:
    """Commands kept in modules of their own."""
    from inspector.cli_mcp import mcp
    from inspector.cli_wait import wait

    main.add_command(wait)
    main.add_command(mcp)


_register_commands()
