"""Server settings: their defaults, and parsing of the values users give as flags or INSPECTOR_* variables."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from inspector.proxies import TrustedProxies
from inspector.store.sqlite import SYNCHRONOUS_MODES
from inspector.targets import TargetPolicy, ThisServer

HTTP_PARSERS = ("auto", "h11", "httptools")
LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error")


def default_db_path() -> Path:
    """Where the SQLite file lives when the user names none: the platform's per-user data folder."""
    return platformdirs.user_data_path("webhook-inspector", appauthor=False) / "inspector.db"


@dataclass(frozen=True)
class Option:
    """How users give a setting: its flag, its INSPECTOR_* variable, and the words --help and docs use.

    Each field of `Settings` carries one; `cli.py` makes the flags from them and `settings_table`
    the README's table, so a setting is defined once.
    """

    flag: str  # "--port", or "--public/--no-public" for a switch
    help: str
    kind: type = str  # int, float, str, bool or Path
    env: str | None = None  # INSPECTOR_ and the flag's name, unless given
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    # Turns the text a user gives into the value (ValueError: a usage error), and back, for defaults.
    parse: Callable[[Any], Any] | None = None
    show: Callable[[Any], str] | None = None
    # The default in words, where it is not a plain value (it depends on other settings, or is none).
    default_text: str | None = None
    multiple: bool = False
    must_exist: bool = False

    @property
    def envvar(self) -> str:
        return self.env or "INSPECTOR_" + self.flag.split("/")[0].removeprefix("--").replace("-", "_").upper()


def setting(default: Any = MISSING, *, factory: Callable[[], Any] | None = None, **option: Any) -> Any:
    """A field of Settings with its Option."""
    metadata = {"option": Option(**option)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _size(value: int) -> str:
    return format_size(value).replace(" ", "")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a running server is configured with; `create_app` takes one of these."""

    host: str = setting(
        "127.0.0.1",
        flag="--host",
        help="Address to listen on; 0.0.0.0 to accept connections from other machines.",
    )
    port: int = setting(8000, flag="--port", kind=int, low=0, high=65535, help="TCP port to listen on.")
    db_path: Path = setting(
        factory=default_db_path,
        flag="--db",
        kind=Path,
        default_text="inspector.db in the user data folder (~/.local/share/webhook-inspector on Linux)",
        help="SQLite database file, created if missing; one server process per file.",
    )
    public_url: str | None = setting(
        None,
        flag="--public-url",
        parse=lambda text: parse_public_url(text),
        default_text="from each request",
        help="Base URL senders reach this server at (behind a proxy or tunnel); used in capture URLs.",
    )
    max_body_size: int = setting(
        10 * 1024 * 1024,
        flag="--max-body-size",
        parse=lambda text: parse_size(text),
        show=_size,
        help="Largest body a bin accepts (e.g. 512KiB, 10MiB); larger ones get 413 and are logged as tried.",
    )
    trusted_proxies: TrustedProxies = setting(
        factory=TrustedProxies,
        flag="--trusted-proxy",
        env="INSPECTOR_TRUSTED_PROXIES",
        multiple=True,
        parse=TrustedProxies.parse,
        default_text="none",
        help="Proxy address or CIDR whose X-Forwarded-For/Forwarded headers are believed; repeatable "
        "(space or comma separated in the variable).",
    )
    bin_ttl_seconds: int = setting(
        7 * 24 * 3600, flag="--bin-ttl", kind=int, low=60, help="Seconds a new bin lives before it expires."
    )
    sqlite_synchronous: str = setting(
        "full",
        flag="--sqlite-synchronous",
        choices=SYNCHRONOUS_MODES,
        help="full survives power loss; normal survives a crash of the server process only "
        "(docs/durability.md).",
    )
    http_parser: str = setting(
        "auto",
        flag="--http",
        choices=HTTP_PARSERS,
        help="HTTP parser: auto parses with httptools (llhttp), any method token included (FOO, "
        "lowercase get), and hands the requests it cannot take (CONNECT, Upgrade) to h11; h11 parses "
        "every request (slower); httptools alone answers 400 to unknown methods and drops an Upgrade "
        "request's body.",
    )
    public: bool | None = setting(
        None,
        flag="--public/--no-public",
        kind=bool,
        default_text="on when --host is not a loopback address",
        help="Refuse replays and forwards to private, loopback, link-local and metadata addresses.",
    )
    allow_targets: tuple[str, ...] = setting(
        (),
        flag="--allow-target",
        env="INSPECTOR_ALLOW_TARGETS",
        multiple=True,
        default_text="none",
        help="Host, address or CIDR that replays and forwards may reach even with --public; repeatable.",
    )
    delivery_timeout_seconds: float = setting(
        10.0,
        flag="--delivery-timeout",
        kind=float,
        low=0.1,
        high=300,
        help="Seconds a replay or forward may take before it counts as timed out.",
    )
    forward_retry_seconds: float = setting(
        1.0,
        flag="--forward-retry",
        kind=float,
        low=0.01,
        help="Seconds before the first auto-forward retry; each next one waits twice as long "
        "(5 min at most).",
    )
    forward_max_attempts: int = setting(
        8,
        flag="--forward-attempts",
        kind=int,
        low=1,
        high=50,
        help="Attempts per auto-forward delivery before it is marked failed.",
    )
    forward_max_pending: int = setting(
        1000,
        flag="--forward-queue",
        kind=int,
        low=1,
        help="Deliveries a bin may have waiting; beyond that new ones fail at once (queue full).",
    )
    max_requests: int = setting(
        1000,
        flag="--max-requests",
        kind=int,
        low=1,
        help="Requests a bin keeps unless it says otherwise; past that the oldest are dropped.",
    )
    max_stored_bytes: int | None = setting(
        None,
        flag="--max-stored",
        parse=lambda text: parse_size(text),
        default_text="none",
        help="Cap on all stored body bytes (e.g. 5GiB); the oldest requests go first.",
    )
    sweep_interval_seconds: float = setting(
        30.0,
        flag="--sweep-interval",
        kind=float,
        low=0.05,
        help="Seconds between sweeps of expired bins (and of the stored-bytes cap).",
    )
    max_response_delay_seconds: float = setting(
        30.0,
        flag="--max-delay",
        kind=float,
        low=0,
        help="The longest a bin's configured answer may be delayed, in seconds.",
    )
    private_bins: bool | None = setting(
        None,
        flag="--private-bins/--open-bins",
        kind=bool,
        default_text="private when --host is beyond loopback",
        help="New bins need their token to be read.",
    )
    # Abuse limits: rates are requests per second (bursts of twice that); 0 turns a limit off.
    bin_rate_limit: float | None = setting(
        None,
        flag="--bin-rate-limit",
        kind=float,
        low=0,
        default_text="none on loopback, 50 beyond",
        help="Captures per second one bin accepts (bursts of twice that), 429 beyond; 0 for none.",
    )
    client_rate_limit: float | None = setting(
        None,
        flag="--client-rate-limit",
        kind=float,
        low=0,
        default_text="none on loopback, 100 beyond",
        help="Captures per second one sender address may make; 0 for none.",
    )
    max_bins_per_client: int | None = setting(
        None,
        flag="--max-bins-per-client",
        kind=int,
        low=0,
        default_text="none on loopback, 50 beyond",
        help="Live bins one address may create; 0 for no cap.",
    )
    max_headers: int = setting(
        100,
        flag="--max-headers",
        kind=int,
        low=1,
        help="Most headers a captured request may have (431 beyond).",
    )
    max_header_bytes: int = setting(
        32 * 1024,
        flag="--max-header-bytes",
        parse=lambda text: parse_size(text),
        show=_size,
        help="Largest total size of a captured request's headers (431 beyond).",
    )
    bins_file: Path | None = setting(
        None,
        flag="--bins-file",
        kind=Path,
        must_exist=True,
        default_text="none",
        help="TOML file declaring fixed bins (name, response, private), created or updated at start-up.",
    )
    sse_ping_seconds: float = setting(
        15.0,
        flag="--sse-ping",
        kind=float,
        low=0.1,
        help="Seconds between keep-alive pings on live streams, so proxies do not close idle streams.",
    )
    header_timeout_seconds: float = setting(
        10.0,
        flag="--header-timeout",
        kind=float,
        low=0.1,
        help="Seconds a client has to send a whole request head; then 408 (or a plain close if it "
        "sent nothing).",
    )
    body_timeout_seconds: float = setting(
        30.0,
        flag="--body-timeout",
        kind=float,
        low=0.1,
        help="Longest pause allowed inside a request body, in seconds; then 408 and nothing is recorded.",
    )
    keep_alive_timeout_seconds: float = setting(
        5.0,
        flag="--keep-alive-timeout",
        kind=float,
        low=0.1,
        help="Seconds an idle kept-alive connection stays open between requests.",
    )
    max_streams_per_bin: int = setting(
        200,
        flag="--max-streams-per-bin",
        kind=int,
        low=0,
        help="Live streams (dashboards, API streams, smee clients) open at once on one bin; "
        "429 beyond, 0 for no cap.",
    )
    max_streams_per_client: int = setting(
        32,
        flag="--max-streams-per-client",
        kind=int,
        low=0,
        help="Live streams one client address may have open at once; 429 beyond, 0 for no cap.",
    )
    forward_budget: int = setting(
        20,
        flag="--forward-budget",
        kind=int,
        low=1,
        help="Auto-forwards one original request may cause in all, counting those of bins that forward "
        "to each other; past that its forwards fail with the reason.",
    )
    allow_self_forward: bool = setting(
        False,
        flag="--allow-self-forward/--no-self-forward",
        kind=bool,
        help="Let bins auto-forward to this server itself (its address, its loopback aliases, "
        "--public-url); the forward budget still bounds loops. Replays may always go there.",
    )
    database_url: str | None = setting(
        None,
        flag="--database-url",
        default_text="none: the SQLite file",
        help="postgresql://user@host:5432/db: keep everything in PostgreSQL, shared by every server "
        "process (--db is then not used).",
    )
    hub_url: str | None = setting(
        None,
        flag="--hub-url",
        default_text="none: this process only",
        help="redis://host:6379/0: share live events and rate limits between server processes.",
    )
    workers: int = setting(
        1,
        flag="--workers",
        kind=int,
        low=1,
        high=64,
        help="Server processes sharing the port; above 1 needs --database-url and --hub-url "
        "(docs/scaling.md).",
    )
    access_log: bool = setting(
        False,
        flag="--access-log/--no-access-log",
        kind=bool,
        help="Log every HTTP request: one line of fields (docs/operations.md).",
    )
    metrics_token: str | None = setting(
        None,
        flag="--metrics-token",
        default_text="none: /metrics is open, like /healthz",
        help="Bearer token GET /metrics asks for. Prefer the variable: options are visible to other "
        "users of this machine.",
    )
    log_level: str = setting(
        "info", flag="--log-level", choices=LOG_LEVELS, help="Least severe log level written."
    )
    log_format: str = setting(
        "auto",
        flag="--log-format",
        choices=LOG_FORMATS,
        help="json: one object per line; console: for people; auto: console on a terminal.",
    )

    def __post_init__(self) -> None:
        if self.sqlite_synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"sqlite synchronous must be one of: {', '.join(SYNCHRONOUS_MODES)}")
        if self.http_parser not in HTTP_PARSERS:
            raise ValueError(f"http parser must be one of: {', '.join(HTTP_PARSERS)}")
        if self.max_body_size < 0:
            raise ValueError("max body size cannot be negative")
        for name in ("header_timeout_seconds", "body_timeout_seconds", "keep_alive_timeout_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name.removesuffix('_seconds').replace('_', ' ')} must be positive")
        if self.max_streams_per_bin < 0 or self.max_streams_per_client < 0:
            raise ValueError("stream caps cannot be negative (0 means no cap)")
        if self.forward_budget < 1:
            raise ValueError("the forward budget must be at least 1")
        if self.public_url is not None:
            object.__setattr__(self, "public_url", parse_public_url(self.public_url))
        if self.database_url is not None and not re.match(r"^postgres(ql)?://\S*$", self.database_url):
            raise ValueError(
                f"database URL must look like postgresql://user@host/db, got {redacted(self.database_url)!r}"
            )
        if self.hub_url is not None and not re.match(r"^(rediss?|unix)://\S+$", self.hub_url):
            raise ValueError(f"hub URL must look like redis://host:6379/0, got {self.hub_url!r}")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.workers > 1 and self.database_url is None:
            raise ValueError(
                "--workers above 1 needs --database-url (PostgreSQL): a SQLite file is served by one process"
            )
        if self.workers > 1 and self.hub_url is None:
            raise ValueError(
                "--workers above 1 needs --hub-url (Redis), so that each process's live views and rate "
                "limits see the captures of the others"
            )


_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "ki": 1024, "mi": 1024**2, "gi": 1024**3}


def redacted(url: str) -> str:
    """A URL fit for logs and messages: without the password it may carry."""
    return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", url)


def database_name(settings: Settings) -> str:
    """What the logs call the store: the PostgreSQL URL without its password, or the SQLite file."""
    return redacted(settings.database_url) if settings.database_url else str(settings.db_path.resolve())


def parse_size(text: str) -> int:
    """A byte count such as 1048576, 512KiB, 10MiB or 1GB."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (try 10MiB or 1048576)")
    unit = (match.group(2) or "").lower().removesuffix("b")
    return int(match.group(1)) * _UNITS[unit]


def format_size(size: int) -> str:
    """The shortest exact way to write a byte count: 10 MiB, 512 KiB or 1000 bytes."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def parse_public_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
        raise ValueError(f"public URL must look like https://hooks.example.com, got {url!r}")
    return url


def is_loopback_host(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def target_policy(settings: Settings) -> TargetPolicy:
    """Where outbound requests may go: anywhere for a local server, public addresses otherwise."""
    public = settings.public if settings.public is not None else exposed(settings)
    return TargetPolicy(allow_private=not public, allow_hosts=settings.allow_targets)


def this_server(settings: Settings) -> ThisServer:
    """Where the server listens and is reached, so forward targets pointing back at it are told."""
    return ThisServer(host=settings.host, port=settings.port, public_url=settings.public_url)


# Abuse limits used when the server listens beyond loopback and the operator set none.
PUBLIC_BIN_RATE = 50.0
PUBLIC_CLIENT_RATE = 100.0
PUBLIC_BINS_PER_CLIENT = 50


def exposed(settings: Settings) -> bool:
    """Whether others can reach the server: it listens beyond loopback."""
    return not is_loopback_host(settings.host)


def bins_private_by_default(settings: Settings) -> bool:
    return settings.private_bins if settings.private_bins is not None else exposed(settings)


def effective_limit(value: float | None, public_default: float, settings: Settings) -> float:
    """A configured limit, or its default: none on loopback, `public_default` beyond it. 0 is off."""
    if value is not None:
        return value
    return public_default if exposed(settings) else 0.0


def registry() -> list[tuple[str, Option, Any]]:
    """Each setting's field name, Option and default value (None where it is computed or none)."""
    found = []
    for item in fields(Settings):
        default = item.default if item.default is not MISSING else None
        found.append((item.name, item.metadata["option"], default))
    return found


def settings_table() -> str:
    """The README's table of settings, made from the registry (`python -m inspector.config`)."""
    lines = ["| flag | variable | default | meaning |", "|---|---|---|---|"]
    for _, option, default in registry():
        flag = " / ".join(f"`{part}`" for part in option.flag.split("/"))
        if option.default_text is not None:
            shown = option.default_text
        elif option.kind is bool:
            shown = "on" if default else "off"
        else:
            shown = f"`{option.show(default) if option.show else default}`"
        choices = f" (one of: {', '.join(option.choices)})" if option.choices else ""
        lines.append(f"| {flag} | `{option.envvar}` | {shown} | {option.help}{choices} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(settings_table(), end="")
