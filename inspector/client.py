"""A typed Python client for a Webhook Inspector server's API (httpx), for scripts and tests."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
import msgspec

from inspector.forwarder import parse_bin_url
from inspector.web.api import RequestOut

# The server answers one long poll for at most this long (MAX_WAIT_SECONDS); longer waits ask again.
LONG_POLL_SECONDS = 300.0

FilterValue = str | int | Sequence[str]


class Received(RequestOut):
    """One captured request, as the API gives it (GET /api/bins/{id}/requests/{rid})."""

    @property
    def content(self) -> bytes:
        """The exact body bytes."""
        return base64.b64decode(self.body) if self.body_encoding == "base64" else self.body.encode("utf-8")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return msgspec.json.decode(self.content)

    def header(self, name: str) -> str | None:
        """The first value of a header, matched case-insensitively."""
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)


class InspectorError(Exception):
    """The server refused or failed a call; `status` and `detail` say how."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class WaitTimeout(AssertionError):
    """No matching capture arrived in time (an AssertionError, so a test reads as a failed check)."""


_received = msgspec.json.Decoder(Received)


def _json_pairs(value: Any, prefix: str = "") -> Iterator[str]:
    """{"data": {"id": "x"}} as the API's json filters: data.id:x (non-strings as their JSON text)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _json_pairs(inner, f"{prefix}{key}.")
        return
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    yield f"{prefix.removesuffix('.')}:{text}"


def filter_params(
    *,
    method: str | Sequence[str] | None = None,
    path: str | None = None,
    text: str | None = None,
    headers: Mapping[str, str | None] | None = None,
    query: Mapping[str, str | None] | None = None,
    json: Mapping[str, Any] | None = None,
    **others: FilterValue | None,
) -> list[tuple[str, str]]:
    """Keyword filters as the API's query parameters. `headers`/`query` map a name to a value (None:
    present); `json` is a (nested) dict of fields to match; `others` go as they are (content_type,
    min_size, max_size, since, until, provider, event, signature, forward)."""
    params: list[tuple[str, str]] = []
    if method is not None:
        params += [("method", m) for m in ([method] if isinstance(method, str) else method)]
    if path is not None:
        params.append(("path", path))
    if text is not None:
        params.append(("q", text))
    params += [("header", f"{name}:{value or ''}") for name, value in (headers or {}).items()]
    params += [("query", f"{name}:{value or ''}") for name, value in (query or {}).items()]
    params += [("json", pair) for pair in _json_pairs(json or {})]
    for name, value in others.items():
        if value is None:
            continue
        values = [value] if isinstance(value, (str, int)) else list(value)
        params += [(name, str(v)) for v in values]
    return params


class Bin:
    """One bin on a server: its capture URL, what it received, and waiting for more."""

    def __init__(self, client: InspectorClient, bin_id: str, token: str | None = None) -> None:
        self.client = client
        self.id = bin_id
        self.token = token

    @property
    def url(self) -> str:
        """Where senders send: the capture URL (append any sub-path)."""
        return f"{self.client.base_url}/b/{self.id}"

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        return self.client.call(method, f"/api/bins/{self.id}{path}", headers=headers, **kwargs)

    def requests(self, *, limit: int | None = None, **filters: Any) -> list[Received]:
        """The captures that pass the filters (see `filter_params`), newest first, in full."""
        found: list[Received] = []
        before: int | None = None
        params = filter_params(**filters)
        for _ in range(100_000):  # bounded: each page moves `before` down
            page = self._call(
                "GET",
                "/requests",
                params=[*params, ("limit", "500")] + ([("before", str(before))] if before else []),
            ).json()
            for item in page["items"]:
                found.append(self.get(item["id"]))
                if limit is not None and len(found) >= limit:
                    return found
            if page["next"] is None:
                break
            before = page["next"]
        return found

    def summaries(self, params: Sequence[tuple[str, str]] = (), *, limit: int = 50) -> list[dict[str, Any]]:
        """The newest matching captures as the list gives them (no bodies), newest first."""
        found: list[dict[str, Any]] = []
        before: int | None = None
        for _ in range(100_000):  # bounded: each page moves `before` down
            extra = [("before", str(before))] if before else []
            page = self._call(
                "GET", "/requests", params=[*params, ("limit", str(min(limit, 500))), *extra]
            ).json()
            found += page["items"]
            if len(found) >= limit or page["next"] is None:
                return found[:limit]
            before = page["next"]
        return found[:limit]

    def post(self, path: str, payload: Any) -> Any:
        """POST JSON to one of the bin's API paths (verify, replay, ...) and return the JSON answer."""
        return self._call("POST", path, json=payload).json()

    def get(self, request_id: int) -> Received:
        return _received.decode(self._call("GET", f"/requests/{request_id}").content)

    def newest_id(self) -> int:
        """The id of the newest capture, 0 when there is none."""
        items = self._call("GET", "/requests", params={"limit": 1}).json()["items"]
        return items[0]["id"] if items else 0

    def next(
        self,
        *,
        after: int | None = None,
        timeout: float = 30,
        params: Sequence[tuple[str, str]] = (),
        **filters: Any,
    ) -> Received | None:
        """The first capture after `after` (None: made from now on) that passes the filters (keyword
        filters, see `filter_params`, and/or the API's query `params` as they are), waiting up to
        `timeout` seconds; None if none came."""
        if after is None:
            after = self.newest_id()  # fixed now, so a wait of several long polls misses nothing
        params = [*params, *filter_params(**filters)]
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:  # each round is one long poll
            wait = min(remaining, LONG_POLL_SECONDS)
            answer = self._call(
                "GET",
                "/requests/next",
                params=[*params, ("after", str(after)), ("timeout", f"{wait:.3f}")],
                timeout=wait + 30,
            )
            if answer.status_code == 200:
                return _received.decode(answer.content)
        return None

    def wait_for(self, *, timeout: float = 5, after: int = 0, **filters: Any) -> Received:
        """The first capture after `after` (default: any this bin received) that passes the filters,
        waiting up to `timeout` seconds for it; raises WaitTimeout (an AssertionError) naming what the
        bin did receive. E.g. `bin.wait_for(method="POST", json={"type": "invoice.paid"})`."""
        found = self.next(after=after, timeout=timeout, **filters)
        if found is not None:
            return found
        received = self._call("GET", "/requests", params={"limit": 10}).json()["items"]
        seen = ", ".join(f"#{r['id']} {r['method']} {r['sub_path'] or '/'}" for r in received) or "nothing"
        wanted = "&".join(f"{k}={v}" for k, v in filter_params(**filters)) or "any capture"
        raise WaitTimeout(f"no capture matching {wanted} within {timeout} s; the bin received: {seen}")

    def export(self, fmt: str = "ndjson", **filters: Any) -> bytes:
        return self._call("GET", "/export", params=[("format", fmt), *filter_params(**filters)]).content

    def import_(self, data: bytes) -> list[int]:
        """Add captures from an export (HAR or NDJSON) of this or another server; their new ids."""
        kind = (
            "application/json"
            if data.lstrip()[:1] == b"{" and b'"log"' in data[:200]
            else "application/x-ndjson"
        )
        return self._call("POST", "/import", content=data, headers_extra={"content-type": kind}).json()["ids"]

    def clear(self) -> None:
        self._call("DELETE", "/requests")

    def delete(self) -> None:
        self._call("DELETE", "")


class InspectorClient:
    """A server's API: `InspectorClient("http://127.0.0.1:8080").create_bin()`."""

    def __init__(self, base_url: str, *, timeout: float = 30, http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout)

    def __enter__(self) -> InspectorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        headers_extra: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One API call; InspectorError for any 4xx or 5xx answer."""
        answer = self._http.request(
            method, f"{self.base_url}{path}", headers={**(headers or {}), **(headers_extra or {})}, **kwargs
        )
        if answer.status_code >= 400:
            try:
                detail = str(answer.json().get("detail", answer.text))
            except ValueError:
                detail = answer.text
            raise InspectorError(answer.status_code, detail)
        return answer

    def create_bin(
        self, *, name: str | None = None, private: bool | None = None, ttl_seconds: int | None = None
    ) -> Bin:
        settings = {"name": name, "private": private, "ttl_seconds": ttl_seconds}
        created = self.call(
            "POST", "/api/bins", json={k: v for k, v in settings.items() if v is not None}
        ).json()
        return Bin(self, created["id"], created.get("token"))

    def bin(self, bin_id: str, *, token: str | None = None) -> Bin:
        """A bin by id or by any of its URLs (capture, dashboard or API)."""
        if "://" in bin_id:
            _, bin_id = parse_bin_url(bin_id)
        return Bin(self, bin_id, token)


def connect(bin_url: str, *, token: str | None = None, timeout: float = 30) -> Bin:
    """The bin a URL names (capture, dashboard or API URL), on the server in that URL."""
    server, bin_id = parse_bin_url(bin_url)
    return Bin(InspectorClient(server, timeout=timeout), bin_id, token)
