"""Server settings: their defaults, and parsing of the values users give as flags or INSPECTOR_* variables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from inspector.proxies import TrustedProxies
from inspector.store.sqlite import SYNCHRONOUS_MODES
from inspector.targets import TargetPolicy, ThisServer

HTTP_PARSERS = ("h11", "httptools")
LOG_FORMATS = ("auto", "json", "console")


def default_db_path() -> Path:
    """Where the SQLite file lives when the user names none: the platform's per-user data folder."""
    return platformdirs.user_data_path("webhook-inspector", appauthor=False) / "inspector.db"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a running server is configured with; `create_app` takes one of these."""

    host: str = "127.0.0.1"
    port: int = 8000
    db_path: Path = field(default_factory=default_db_path)
    # The base URL senders reach this server at (behind a proxy or tunnel); capture URLs use it.
    public_url: str | None = None
    max_body_size: int = 10 * 1024 * 1024
    # Peers whose X-Forwarded-For / Forwarded headers are believed.
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    bin_ttl_seconds: int = 7 * 24 * 3600
    sqlite_synchronous: str = "full"
    # h11 accepts any method token; httptools is faster but answers 400 to tokens it does not know.
    http_parser: str = "h11"
    # Where replays and auto-forward may send requests. None: refuse private and loopback
    # addresses when the server listens beyond loopback (it is then reachable by others).
    public: bool | None = None
    # Hosts or networks that stay reachable in public mode (an allow-list).
    allow_targets: tuple[str, ...] = ()
    # Seconds an outbound delivery (replay or forward) may take.
    delivery_timeout_seconds: float = 10.0
    # Auto-forward retries: first after this many seconds, doubling up to 5 minutes.
    forward_retry_seconds: float = 1.0
    forward_max_attempts: int = 8
    # Deliveries a bin may have waiting before new ones fail with "queue full".
    forward_max_pending: int = 1000
    # Retention: requests a bin keeps by default (the oldest go first), an optional cap on all
    # stored body bytes, and how often expired bins are swept.
    max_requests: int = 1000
    max_stored_bytes: int | None = None
    sweep_interval_seconds: float = 30.0
    # The longest a bin's configured answer may be delayed.
    max_response_delay_seconds: float = 30.0
    # None: private when the server listens beyond loopback.
    private_bins: bool | None = None
    # Abuse limits. Rates are requests per second (bursts of twice that); 0 turns a limit off;
    # None: off on loopback, on (the values in `public_limits`) beyond it.
    bin_rate_limit: float | None = None
    client_rate_limit: float | None = None
    max_bins_per_client: int | None = None
    max_headers: int = 100
    max_header_bytes: int = 32 * 1024
    # Bins the operator declares (TOML), created or updated at start-up.
    bins_file: Path | None = None
    # Seconds between keep-alive comments on live streams, so proxies do not close idle streams.
    sse_ping_seconds: float = 15.0
    access_log: bool = False
    log_level: str = "info"
    log_format: str = "auto"
    # Connections: the time a client has to send a request head, the longest pause inside a body,
    # how long an idle kept-alive connection stays open; live streams open at once per bin and
    # per client address (0: no cap).
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    keep_alive_timeout_seconds: float = 5.0
    max_streams_per_bin: int = 200
    max_streams_per_client: int = 32

    # Forwarding limits: the auto-forwards one original request may cause in all, fan-out
    # included (bins forwarding to each other multiply), and whether a bin may forward to this
    # server itself.
    forward_budget: int = 20
    allow_self_forward: bool = False

    # Several server processes: a Redis URL through which they share live events and rate limits
    # (the store is shared separately). None: both stay in this process.
    hub_url: str | None = None
    # A PostgreSQL URL: the store several server processes share. None: the SQLite file at db_path.
    database_url: str | None = None
    # Server processes sharing the listening socket; above 1 needs both engines above.
    workers: int = 1

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
