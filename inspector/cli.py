"""The `inspector` command line: `serve` runs the server, `forward` relays a bin to a local app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import structlog

from inspector import __version__
from inspector.config import (
    Option,
    Settings,
    database_name,
    default_db_path,
    redacted,
    registry,
    target_policy,
)

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


def settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command one flag (with its INSPECTOR_* variable) per setting, made from the registry."""
    for name, option, default in reversed(registry()):
        command = click.option(option.flag, name, **_click_settings(option, default))(command)
    return command


def setting_option(name: str, **changes: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The flag of one setting, for commands other than serve that take it (with its own help)."""
    option, default = next((option, default) for field, option, default in registry() if field == name)
    if "help" in changes and option.default_text is not None:
        changes["help"] += f"  [default: {option.default_text}]"
    return click.option(option.flag, name, **{**_click_settings(option, default), **changes})


def _click_settings(option: Option, default: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "envvar": option.envvar,
        "show_envvar": True,
        "help": option.help,
        "multiple": option.multiple,
        "default": () if option.multiple else default,
    }
    if option.default_text is not None:
        settings["help"] += f"  [default: {option.default_text}]"
        settings["show_default"] = False
    if option.parse is not None:
        settings["callback"] = _parsed(option.parse)
        if default is not None and option.show is not None:
            settings["default"] = option.show(default)
    elif option.choices:
        settings["type"] = click.Choice(option.choices)
    elif option.kind is int:
        settings["type"] = click.IntRange(option.low, option.high)  # type: ignore[arg-type]
    elif option.kind is float:
        settings["type"] = click.FloatRange(option.low, option.high)
    elif option.kind is Path:
        settings["type"] = click.Path(dir_okay=False, exists=option.must_exist, path_type=Path)
    return settings


@main.command()
@settings_options
def serve(**options: Any) -> None:
    """Run the server: bins capture at /b/{bin}, the API lives under /api."""
    from inspector import server
    from inspector.logs import configure_logging

    try:
        # Settings left unset keep the registry's default (some are computed, like the database path).
        settings = Settings(**{name: value for name, value in options.items() if value is not None})
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
        workers=settings.workers,
    )
    server.run(settings)


@main.command("migrate-db")
@setting_option("db_path", help="The SQLite database to move.")
@setting_option(
    "database_url", required=True, help="postgresql://user@host:5432/db: an empty database to move it into."
)
def migrate_db(db_path: Path | None, database_url: str) -> None:
    """Move a SQLite database into PostgreSQL: bins, captures, secrets, verdicts, deliveries; ids kept.

    Stop the server on the SQLite file first (this command refuses while it runs). The copy is one
    transaction; the SQLite file is left as it was. Then start the servers with --database-url.
    """
    import asyncio

    import asyncpg

    from inspector.store import StoreLocked
    from inspector.store.transfer import TransferRefused, sqlite_to_postgres

    path = db_path or default_db_path()
    try:
        copied = asyncio.run(
            sqlite_to_postgres(path, database_url, progress=lambda table, rows: click.echo(f"{rows} {table}"))
        )
    except (TransferRefused, StoreLocked, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"cannot use {redacted(database_url)}: {exc}") from None
    click.echo(
        f"moved {path} into {redacted(database_url)}: {copied['bins']} bins, {copied['requests']} requests"
    )


def _since(value: str) -> str | int:
    """--since: "all" or a request id."""
    if value.strip().lower() == "all":
        return "all"
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    raise ValueError(f"{value!r} is neither 'all' nor a request id")


def _target(value: str) -> str:
    from inspector.targets import expand_local_target

    return expand_local_target(value)


def _with_path(target: str, path: str | None) -> str:
    """The target with --path as its path; a UsageError when --to has a path of its own too."""
    if path is None:
        return target
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(target)
    if parts.path not in ("", "/"):
        raise click.UsageError(f"give the path once: --to {target} already has {parts.path}")
    return urlunsplit(parts._replace(path=f"/{path.lstrip('/')}"))


def _create_bin(server: str, token: str | None) -> tuple[str, str, str | None]:
    """Make a bin on `server` for `forward --new`: its id, capture URL and owner token."""
    import httpx

    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        answer = httpx.post(f"{server.rstrip('/')}/api/bins", headers=headers, json={}, timeout=30)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot create a bin on {server}: {exc}") from None
    if answer.status_code != 201:
        raise click.ClickException(
            f"{server} refused to create a bin (HTTP {answer.status_code}): {answer.text}"
        )
    made = answer.json()
    return made["id"], made["url"], made.get("token")


def _state_help() -> str:
    from inspector.forwarder import STATE_DIR

    return (
        "File that keeps the last settled request id, so a restarted forwarder resumes where it "
        "stopped, captures made meanwhile included (it then takes precedence over --since).  "
        f"[default: one file per bin and target in {STATE_DIR}]"
    )


@main.command()
@click.argument("bin_url", required=False)
@click.option(
    "--to",
    "target",
    required=True,
    callback=_parsed(_target),
    help="Where to deliver: a port (3000 is http://localhost:3000), host:port/path "
    "(localhost:3000/hook) or a URL (http://localhost:3000/hook). "
    "Each request's sub-path (after /b/BIN) and query are appended.",
)
@click.option(
    "--path",
    help="The path on the target that the bin's URL maps to, as with --to 3000 --path /hook; "
    "/b/BIN/github?x=1 is then delivered to /hook/github?x=1.  [default: the path in --to]",
)
@click.option(
    "--new",
    "new_bin",
    is_flag=True,
    help="Create a bin first, print its URL and forward it; the argument is then the server "
    "(default http://127.0.0.1:8000), not a bin URL.",
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
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path), help=_state_help())
def forward(
    bin_url: str | None,
    target: str,
    path: str | None,
    new_bin: bool,
    since: str | int | None,
    token: str | None,
    timeout: float,
    attempts: int,
    state_path: Path | None,
) -> None:
    """Deliver every request a bin captures to your app, at least once, as it arrives.

    BIN_URL is the bin's capture URL (http://HOST:PORT/b/BIN) or its dashboard page
    (http://HOST:PORT/bins/BIN); the server may be remote. With --new, give the server's URL
    instead (or nothing, for http://127.0.0.1:8000) and a new bin is made. One line per delivery
    on standard output:

        HH:MM:SS  #ID  METHOD /path?query  -> STATUS  N ms

    Each request goes out with its method, headers (in order, duplicates kept) and body bytes as
    captured, except: hop-by-hop headers (Connection and those it names, Keep-Alive, TE, Trailer,
    Transfer-Encoding, Upgrade, Proxy-*) and the sender's proxy headers (X-Forwarded-For,
    X-Forwarded-Host, -Proto, -Port, Forwarded, X-Real-IP) are left out; Host is the target's;
    Content-Length is recomputed; and Idempotency-Key: BIN:ID is added unless the capture has
    one. The sub-path's ".." segments are resolved within it, so it stays under the target's path.

    If the connection drops or the server restarts, it reconnects and carries on after the last
    settled request: nothing is lost. Delivery is at least once: a forwarder killed mid-delivery
    sends that request again when restarted, with the same Idempotency-Key, for your app to drop
    the repeat. Ctrl-C or SIGTERM stops it after the delivery in flight.
    """
    from inspector.forwarder import Forwarder, default_state_path, parse_bin_url, run_forwarder

    target = _with_path(target, path)
    if new_bin:
        server = (bin_url or f"http://{defaults.host}:{defaults.port}").rstrip("/")
        bin_id, capture_url, made_token = _create_bin(server, token)
        token = token or made_token
        click.echo(f"created bin {bin_id}: send webhooks to {capture_url}", err=True)
        if made_token:
            click.echo(f"its owner token (for the dashboard and the API): {made_token}", err=True)
    else:
        if bin_url is None:
            raise click.UsageError("give the bin's URL, or --new to create one")
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
        state_path=state_path or default_state_path(server, bin_id, target),
    )
    try:
        resumed = forwarder.load_state()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if resumed:
        click.echo(f"resuming after #{forwarder.after}, as {forwarder.state_path} says", err=True)
    raise SystemExit(run_forwarder(forwarder))


@main.command()
@click.argument("provider", required=False)
@click.argument("event", required=False)
@click.option("--to", "target", help="Where to send the event: your endpoint, or a bin's capture URL.")
@click.option(
    "--secret",
    help="The signing secret your endpoint verifies with.  [default: inspector-test-secret]",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="PATH=VALUE",
    help="Change a field of the sample body (dotted path; the value is JSON, else text). Repeatable.",
)
@click.option("--repeat", default=1, type=click.IntRange(1, 100), help="Deliver it N times with the same id.")
@click.option(
    "--delay", default=0.0, type=click.FloatRange(0, 3600), help="Seconds between repeated deliveries."
)
@click.option(
    "--bad-signature", is_flag=True, help="Sign with the wrong secret: your endpoint should refuse it."
)
@click.option(
    "--stale-timestamp", is_flag=True, help="Date the signature an hour back: your endpoint should refuse it."
)
def trigger(
    provider: str | None,
    event: str | None,
    target: str | None,
    secret: str | None,
    sets: tuple[str, ...],
    repeat: int,
    delay: float,
    bad_signature: bool,
    stale_timestamp: bool,
) -> None:
    """Send a realistic, signed sample event, as PROVIDER sends EVENT, to your endpoint.

    Without PROVIDER, lists the providers with sample events; without EVENT, that provider's
    events. One line per delivery: the answer, and whether it was a 2xx within the provider's
    timeout. Exits 1 when a delivery was not accepted.
    """
    import asyncio

    from inspector.simulator import DEFAULT_SECRET, SimulatorError, catalogue, providers, send
    from inspector.targets import TargetPolicy

    try:
        if provider is None:
            click.echo("\n".join(providers()))
            return
        book = catalogue(provider)
        if event is None:
            click.echo(f"# {book.source}")
            click.echo("\n".join(book.events))
            return
        if not target:
            raise click.UsageError("--to is required: the URL to send the event to.")
        used = secret or DEFAULT_SECRET
        if secret is None:
            click.echo(f"signing with the test secret {used!r} (--secret to choose one)", err=True)
        # The user's own machine sends to the user's own endpoint, as `inspector forward` does.
        sent = asyncio.run(
            send(
                book.provider,
                event,
                to=target,
                secret=used,
                policy=TargetPolicy(allow_private=True),
                sets=sets,
                repeat=repeat,
                delay=delay,
                bad_signature=bad_signature,
                stale_timestamp=stale_timestamp,
            )
        )
    except SimulatorError as exc:
        raise click.UsageError(str(exc)) from None
    for delivery in sent:
        click.echo(delivery.summary())
    if not all(delivery.accepted for delivery in sent):
        raise SystemExit(1)


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@setting_option("db_path", help="The SQLite database to back up (the server's --db).")
@setting_option("database_url", hidden=True)
def backup(path: Path, db_path: Path | None, database_url: str | None) -> None:
    """Write a consistent copy of the SQLite database to PATH, while the server runs or not.

    The copy holds every capture acknowledged before the backup started (those still in the
    write-ahead log included, which copying the file by hand can lose), is checked by reading it
    back, and is a database `inspector serve --db PATH` opens as it is. PATH must not exist.
    Restoring, upgrading and rolling back: docs/operations.md.
    """
    from inspector.backup import run_backup

    run_backup(path, db_path or default_db_path(), database_url)


def _register_commands() -> None:
    """Commands kept in modules of their own."""
    from inspector.cli_mcp import mcp
    from inspector.cli_wait import wait

    main.add_command(wait)
    main.add_command(mcp)


_register_commands()
