"""Filters over a bin's captures: parsed from query parameters, matched against records (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from inspector.models import CapturedRequest, RequestSummary
from inspector.pathglob import compile_glob, count_wildcards

SIGNATURE_STATES = ("valid", "invalid", "unchecked")
FORWARD_STATES = ("delivered", "failed", "pending")
# What every filter parameter may be given at most: filters are matched row by row.
MAX_VALUES = 20
MAX_VALUE_LENGTH = 1024
MAX_GLOB_LENGTH = 256
MAX_GLOB_WILDCARDS = 16
# A filtered page looks at this many of the bin's rows at most, whatever it finds: so a page's cost
# stays flat in bin size, and a page may hold fewer items than asked while `next` says there is more.
SCAN_WINDOW = 2000

FILTER_PARAMETERS = (
    "method",
    "path",
    "q",
    "header",
    "query",
    "json",
    "content_type",
    "min_size",
    "max_size",
    "since",
    "until",
    "provider",
    "event",
    "signature",
    "forward",
)


class BadFilter(ValueError):
    """A filter parameter that cannot be used; the message names it."""


class RequestQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Filters that all must hold (values of one repeatable filter: any may hold)."""

    methods: tuple[str, ...] = ()
    path: str | None = None
    text: str | None = None
    # (lowercased name, value or None for "present"), all must hold.
    headers: tuple[tuple[str, str | None], ...] = ()
    query: tuple[tuple[str, str | None], ...] = ()
    json: tuple[tuple[tuple[str, ...], str | None], ...] = ()
    content_type: str | None = None
    min_size: int | None = None
    max_size: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    provider: str | None = None
    event: str | None = None
    signature: str | None = None
    forward: str | None = None

    @property
    def empty(self) -> bool:
        return self == EMPTY

    @property
    def needs_body(self) -> bool:
        """Whether matching reads the body (otherwise the store may leave it out)."""
        return bool(self.text or self.json)

    def params(self) -> list[tuple[str, str]]:
        """The filters as query parameters again (for page URLs and links)."""
        out: list[tuple[str, str]] = [("method", m) for m in self.methods]
        if self.path is not None:
            out.append(("path", self.path))
        if self.text is not None:
            out.append(("q", self.text))
        out += [("header", f"{name}:{value or ''}") for name, value in self.headers]
        out += [("query", f"{name}:{value or ''}") for name, value in self.query]
        out += [("json", f"{'.'.join(path)}:{value or ''}") for path, value in self.json]
        for name in ("content_type", "min_size", "max_size", "provider", "event", "signature", "forward"):
            value = getattr(self, name)
            if value is not None:
                out.append((name, str(value)))
        for name in ("since", "until"):
            when = getattr(self, name)
            if when is not None:
                out.append((name, when.isoformat()))
        return out


EMPTY = RequestQuery()


def _pair(name: str, raw: str) -> tuple[str, str | None]:
    key, colon, value = raw.partition(":")
    if not key:
        raise BadFilter(f"{name} must be NAME:VALUE or NAME: (present), not {raw!r}")
    return key, (value if colon and value else None)


def _int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise BadFilter(f"{name} must be a whole number of bytes, not {raw!r}") from None
    if not 0 <= value <= 2**62:
        raise BadFilter(f"{name} must be between 0 and 2^62")
    return value


def _time(name: str, raw: str) -> datetime:
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        raise BadFilter(
            f"{name} must be an ISO 8601 time such as 2026-01-31T12:00:00Z, not {raw!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _one_of(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise BadFilter(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
    return raw


def parse_filters(items: Iterable[tuple[str, str]], *, ignore: Iterable[str] = ()) -> RequestQuery:
    """The filters among query parameters; raises BadFilter naming unknown or malformed ones.

    `ignore` names the other parameters the endpoint takes (paging, tokens): they are not filters.
    An empty value means "no filter" for every single-valued filter, so an HTML form can send them all.
    """
    skipped = set(ignore)
    given: dict[str, list[str]] = {}
    unknown: list[str] = []
    for name, value in items:
        if name in skipped:
            continue
        if name not in FILTER_PARAMETERS:
            if name not in unknown:
                unknown.append(name)
            continue
        if len(value) > MAX_VALUE_LENGTH:
            raise BadFilter(f"{name} is longer than {MAX_VALUE_LENGTH} characters")
        given.setdefault(name, []).append(value)
    if unknown:
        raise BadFilter(
            f"unknown parameter{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(unknown))}"
            f" (filters are {', '.join(FILTER_PARAMETERS)})"
        )
    fields: dict[str, Any] = {}
    for name, values in given.items():
        if len(values) > MAX_VALUES:
            raise BadFilter(f"{name} is given more than {MAX_VALUES} times")
        repeatable = name in ("method", "header", "query", "json")
        if not repeatable and len(values) > 1:
            raise BadFilter(f"{name} may be given once")
        values = [v for v in values if v != ""]
        if not values:
            continue
        raw = values[0]
        if name == "method":
            fields["methods"] = tuple(v.upper() for v in values)
        elif name == "path":
            if len(raw) > MAX_GLOB_LENGTH or count_wildcards(raw) > MAX_GLOB_WILDCARDS:
                raise BadFilter(
                    f"path takes at most {MAX_GLOB_LENGTH} characters and {MAX_GLOB_WILDCARDS} wildcards"
                )
            fields["path"] = raw
        elif name == "q":
            fields["text"] = raw
        elif name == "header":
            fields["headers"] = tuple((key.lower(), value) for key, value in (_pair(name, v) for v in values))
        elif name == "query":
            fields["query"] = tuple(_pair(name, v) for v in values)
        elif name == "json":
            fields["json"] = tuple(
                (tuple(key.split(".")), value) for key, value in (_pair(name, v) for v in values)
            )
        elif name == "content_type":
            fields["content_type"] = raw.lower()
        elif name in ("min_size", "max_size"):
            fields[name] = _int(name, raw)
        elif name in ("since", "until"):
            fields[name] = _time(name, raw)
        elif name == "signature":
            fields["signature"] = _one_of(name, raw, SIGNATURE_STATES)
        elif name == "forward":
            fields["forward"] = _one_of(name, raw, FORWARD_STATES)
        else:  # provider, event
            fields[name] = raw
    return RequestQuery(**fields)


def _json_at(data: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for key in path:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return False, None
    return True, data


def _json_equals(found: Any, wanted: str) -> bool:
    # A string compares as itself; other values as their JSON text (42, true, null).
    if isinstance(found, str):
        return found == wanted
    return msgspec.json.encode(found).decode() == wanted


def matches(query: RequestQuery, captured: CapturedRequest, summary: RequestSummary) -> bool:
    """Whether a capture passes every filter. `captured` may lack its body when not `needs_body`."""
    if query.methods and captured.method.upper() not in query.methods:
        return False
    if query.path is not None and not compile_glob(query.path).matches(captured.sub_path or "/"):
        return False
    size = summary.body_size
    if query.min_size is not None and size < query.min_size:
        return False
    if query.max_size is not None and size > query.max_size:
        return False
    if query.since is not None and summary.received_at < query.since:
        return False
    if query.until is not None and summary.received_at > query.until:
        return False
    if query.content_type is not None and query.content_type not in (captured.content_type or "").lower():
        return False
    for name, value in query.headers:
        values = captured.header_values(name)
        if not values if value is None else value not in values:
            return False
    if query.query:
        pairs = parse_qsl(captured.query, keep_blank_values=True)
        for name, value in query.query:
            if not any(key == name and (value is None or found == value) for key, found in pairs):
                return False
    if query.signature is not None:
        verdict = (
            "unchecked" if summary.signature is None else "valid" if summary.signature.valid else "invalid"
        )
        if verdict != query.signature:
            return False
    if query.forward is not None:
        forwarding = summary.forwarding
        if forwarding is None:
            return False
        state = {
            "delivered": forwarding.delivered,
            "failed": forwarding.failed,
            "pending": forwarding.pending,
        }
        if query.forward == "delivered" and forwarding.delivered != forwarding.targets:
            return False
        if not state[query.forward]:
            return False
    if query.text is not None and query.text.encode("utf-8").lower() not in captured.body.lower():
        return False
    if query.json:
        try:
            data = msgspec.json.decode(captured.body)
        except msgspec.DecodeError:
            return False
        for path, value in query.json:
            present, found = _json_at(data, path)
            if not present or (value is not None and not _json_equals(found, value)):
                return False
    # Labelled by the store when the capture was stored (inspector/detection.py).
    if query.provider is not None and summary.provider != query.provider:
        return False
    return query.event is None or summary.event == query.event


class FoundPage(msgspec.Struct, frozen=True, kw_only=True):
    """A filtered page and where to go on from.

    Newest first (`before` paging): `next` is the `before` of the next older page, None when none is left.
    Oldest first (`after`): `next` is the highest id looked at (or the given `after`), and `more` says
    whether newer rows exist that were not looked at yet.
    """

    items: list[RequestSummary]
    next: int | None
    more: bool = False
