"""The JSON API: create and manage bins, read and delete what they captured."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, quote

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Parameter
from litestar.response import Stream

from inspector.bincache import BinCache
from inspector.bins import new_bin, new_token, token_hash
from inspector.bodies import describe
from inspector.capture import PREFIX, captured_event
from inspector.config import PUBLIC_BINS_PER_CLIENT, Settings, bins_private_by_default, effective_limit
from inspector.exports import BadImport, check_importable, from_har, har_entry, to_curl, to_har, to_raw_http
from inspector.hub import Event
from inspector.mediatypes import is_active_type
from inspector.models import MAX_ID, Bin, BinChanges, CapturedRequest, RequestSummary
from inspector.proxies import public_base_url, scope_origin
from inspector.responses import ResponseSettings, validate_settings
from inspector.search import BadFilter, RequestQuery, parse_filters
from inspector.store import BinExists, Store, TooManyBins
from inspector.web.access import OWNER_ONLY, TOKEN_PARAMETERS
from inspector.web.deps import BinsDep, HubDep, Id, Index, SettingsDep, StoreDep

MAX_PAGE = 500
# Exports read the bin this many captures at a time; imports take at most this many captures at once.
EXPORT_PAGE = 100
MAX_IMPORT = 10_000
# An import is read whole; a bin larger than this moves in parts (an export takes filters: since/until).
MAX_IMPORT_BYTES = 64 * 1024 * 1024
MAX_TTL = 365 * 24 * 3600
MAX_KEPT = 1_000_000


class CreateBin(msgspec.Struct, forbid_unknown_fields=True):
    """Optional settings for a new bin."""

    # A chosen name instead of a random id, for tests and demos. Anyone who guesses it can send to it.
    name: str | None = None
    # Whether reading the bin needs its token; the server's default when omitted.
    private: bool | None = None
    # Seconds until the bin expires; the server's default when omitted.
    ttl_seconds: int | None = None
    # Requests kept; past that the oldest are dropped. The server's default when omitted.
    max_requests: int | None = None
    # How the bin answers senders (see PUT /api/bins/{id}/response).
    response: ResponseSettings | None = None


class UpdateBin(msgspec.Struct, forbid_unknown_fields=True):
    """Settings to change; fields left out stay as they are."""

    private: bool | None = None
    ttl_seconds: int | None = None
    max_requests: int | None = None


class BinOut(msgspec.Struct):
    id: str
    url: str
    created_at: datetime
    expires_at: datetime
    request_count: int
    private: bool
    max_requests: int
    response: ResponseSettings | None
    # Captures refused by rate limits since the server started.
    rate_limited: int
    # Only when the bin is created (and never again): keep it to read a private bin and change it.
    token: str | None = None


class ShareOut(msgspec.Struct):
    share_token: str
    # Opening this link gives read access to the bin in a browser.
    share_url: str


class RequestPage(msgspec.Struct):
    items: list[RequestSummary]
    # Pass as `before` to get the next (older) page; null on the last page.
    next: int | None


class RequestOut(msgspec.Struct):
    id: int
    bin_id: str
    method: str
    url: str
    path: str
    sub_path: str
    query: str
    query_params: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: str
    body_encoding: str
    body_size: int | None
    body_sha256: str | None
    content_type: str | None
    client_ip: str | None
    client_port: int | None
    host: str
    scheme: str
    http_version: str
    received_at: datetime
    rejected: str | None
    # Who sent it and what it reports, as far as it tells (null when it does not), and the bin's
    # earliest capture with the same delivery id when this one repeats it (null when none).
    provider: str | None = None
    event: str | None = None
    duplicate_of: int | None = None


def _bin_out(request: Request, settings: Settings, bin: Bin, count: int, token: str | None = None) -> BinOut:
    base = public_base_url(request.scope, settings.trusted_proxies, settings.public_url)
    return BinOut(
        id=bin.id,
        url=f"{base}{PREFIX}{bin.id}",
        created_at=bin.created_at,
        expires_at=bin.expires_at,
        request_count=count,
        private=bin.private,
        max_requests=bin.max_requests or settings.max_requests,
        response=bin.response,
        rate_limited=request.app.state.refused.get(bin.id, 0),
        token=token,
    )


def checked_response(settings: Settings, response: ResponseSettings | None) -> ResponseSettings | None:
    if response is None:
        return None
    problems = validate_settings(response, max_delay_ms=int(settings.max_response_delay_seconds * 1000))
    if problems:
        raise ClientException("; ".join(problems))
    return response


def checked_retention(ttl_seconds: int | None, max_requests: int | None) -> None:
    if ttl_seconds is not None and not 1 <= ttl_seconds <= MAX_TTL:
        raise ClientException(f"ttl_seconds must be between 1 and {MAX_TTL}")
    if max_requests is not None and not 1 <= max_requests <= MAX_KEPT:
        raise ClientException(f"max_requests must be between 1 and {MAX_KEPT}")


async def open_bin(
    request: Request, store: Store, settings: Settings, data: CreateBin | None
) -> tuple[Bin, str]:
    """Create a bin as asked, within the server's limits; returns it with its owner token."""
    data = data or CreateBin()
    checked_retention(data.ttl_seconds, data.max_requests)
    # The sender's address as capture sees it: behind a trusted proxy, the client's, not the proxy's.
    creator, _, _ = scope_origin(request.scope, settings.trusted_proxies)
    cap = int(effective_limit(settings.max_bins_per_client, PUBLIC_BINS_PER_CLIENT, settings))
    try:
        bin = new_bin(ttl_seconds=data.ttl_seconds or settings.bin_ttl_seconds, name=data.name)
    except ValueError as exc:
        raise ClientException(str(exc)) from None
    token = new_token()
    bin = msgspec.structs.replace(
        bin,
        private=data.private if data.private is not None else bins_private_by_default(settings),
        max_requests=data.max_requests,
        response=checked_response(settings, data.response),
        owner_token_hash=token_hash(token),
        creator_ip=creator,
    )
    try:
        await store.create_bin(bin, creator_cap=cap if cap and creator else None)
    except BinExists:
        raise ClientException(f"A bin named {data.name!r} already exists.", status_code=409) from None
    except TooManyBins:
        raise ClientException(
            f"This address already has {cap} live bins, this server's limit.", status_code=429
        ) from None
    return bin, token


def text_or_base64(data: bytes) -> tuple[str, str]:
    """Bytes for a JSON answer: as text when they are valid UTF-8, else base64; with which it is."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def request_out(captured: CapturedRequest) -> RequestOut:
    body, encoding = text_or_base64(captured.body)
    return RequestOut(
        id=captured.id,
        bin_id=captured.bin_id,
        method=captured.method,
        url=captured.url,
        path=captured.path,
        sub_path=captured.sub_path,
        query=captured.query,
        query_params=parse_qsl(captured.query, keep_blank_values=True),
        headers=captured.headers,
        body=body,
        body_encoding=encoding,
        body_size=captured.body_size,
        body_sha256=captured.body_sha256,
        content_type=captured.content_type,
        client_ip=captured.client_ip,
        client_port=captured.client_port,
        host=captured.host,
        scheme=captured.scheme,
        http_version=captured.http_version,
        received_at=captured.received_at,
        rejected=captured.rejected,
        provider=captured.provider,
        event=captured.event,
        duplicate_of=captured.duplicate_of,
    )


def request_filters(request: Request[Any, Any, Any], *others: str) -> RequestQuery:
    """The filters among a request's query parameters; `others` names the endpoint's other parameters.
    Anything else is a 400 that names it, so a typo never silently widens a search."""
    try:
        return parse_filters(request.query_params.multi_items(), ignore=(*TOKEN_PARAMETERS, *others))
    except BadFilter as exc:
        raise ClientException(str(exc)) from None


def _bytes_response(
    data: bytes, content_type: str | None, filename: str, *, attachment: bool
) -> Response[bytes]:
    # Only safe characters in the plain filename; the exact one goes in filename* (RFC 6266).
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:100] or "download.bin"
    kind = "attachment" if attachment else "inline"
    return Response(
        content=data,
        headers={
            # Given as a header, not media_type: Litestar would append a charset to text types.
            # A script or stylesheet type would let a page of this origin load the bytes as one.
            "content-type": "application/octet-stream"
            if not content_type or is_active_type(content_type)
            else content_type,
            # The bytes are hostile: a browser opening them gets no scripts and no same-origin access.
            "content-security-policy": "default-src 'none'; sandbox",
            "content-disposition": f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(filename)}",
        },
    )


async def existing_bin(store: Store, bin_id: str) -> Bin:
    bin = await store.get_bin(bin_id)
    if bin is None:
        raise NotFoundException(f"There is no bin named {bin_id!r}.")
    return bin


async def change_bin(store: Store, bins: BinCache, bin_id: str, changes: BinChanges) -> Bin:
    """Change some of a bin's settings and tell every process; 404 if there is no such bin."""
    bin = await store.update_bin(bin_id, changes)
    if bin is None:
        raise NotFoundException(f"There is no bin named {bin_id!r}.")
    await bins.changed(bin_id)
    return bin


async def existing_request(store: Store, bin_id: str, request_id: int) -> CapturedRequest:
    await existing_bin(store, bin_id)
    captured = await store.get_request(bin_id, request_id)
    if captured is None:
        raise NotFoundException(f"Bin {bin_id!r} has no request {request_id}.")
    return captured


class ImportOut(msgspec.Struct):
    imported: int
    # The new ids, in the order the captures were given.
    ids: list[int]


_request_out_decoder = msgspec.json.Decoder(RequestOut)


def captured_from_out(record: RequestOut, *, bin_id: str) -> CapturedRequest:
    """A record as GET .../requests/{rid} gives it (a line of an NDJSON export), as a capture of `bin_id`."""
    if record.body_encoding == "base64":
        try:
            body = base64.b64decode(record.body, validate=True)
        except ValueError:
            raise BadImport(f"request {record.id}: body is marked base64 but is not") from None
    elif record.body_encoding == "utf-8":
        body = record.body.encode("utf-8")
    else:
        raise BadImport(f"request {record.id}: body_encoding must be utf-8 or base64")
    if record.sub_path and not record.sub_path.startswith("/"):
        raise BadImport(f"request {record.id}: sub_path must be empty or start with /")
    if any(ord(c) > 255 for name, value in record.headers for c in name + value):
        raise BadImport(f"request {record.id}: header text holds the wire bytes as latin-1")
    return CapturedRequest(
        bin_id=bin_id,
        method=record.method,
        path=f"{PREFIX}{bin_id}{record.sub_path}",
        sub_path=record.sub_path,
        query=record.query,
        headers=[(name, value) for name, value in record.headers],
        body=body,
        body_size=len(body),
        body_sha256=hashlib.sha256(body).hexdigest(),
        client_ip=record.client_ip,
        client_port=record.client_port,
        host=record.host,
        scheme=record.scheme,
        http_version=record.http_version,
        received_at=record.received_at,
        rejected=record.rejected,
    )


def parse_import(data: bytes, *, bin_id: str) -> list[CapturedRequest]:
    """What `export` gives, as captures of `bin_id`: a HAR log (a JSON object) or NDJSON records."""
    text = data.lstrip()
    if not text:
        raise BadImport("nothing to import: send a HAR log or NDJSON records")
    lines = [line for line in data.split(b"\n") if line.strip()]
    if text[:1] == b"{" and b'"log"' in text[:200] and len(lines) >= 1:
        try:
            log = msgspec.json.decode(data)
        except msgspec.DecodeError:
            log = None
        if isinstance(log, dict) and "log" in log:
            captures = from_har(log, bin_id=bin_id, path_prefix=f"{PREFIX}{bin_id}")
            for index, captured in enumerate(captures):
                check_importable(captured, f"log.entries[{index}]")
            return captures
    if len(lines) > MAX_IMPORT:
        raise BadImport(f"at most {MAX_IMPORT} captures may be imported at once")
    captures = []
    for number, line in enumerate(lines, 1):
        try:
            record = _request_out_decoder.decode(line)
        except msgspec.DecodeError as exc:
            raise BadImport(f"line {number} is not a request record: {exc}") from None
        captured = captured_from_out(record, bin_id=bin_id)
        check_importable(captured, f"line {number}")
        captures.append(captured)
    return captures


async def matching_requests(store: Store, bin_id: str, query: RequestQuery) -> AsyncIterator[CapturedRequest]:
    """The bin's captures that pass `query`, oldest first, as of the call (later ones are left out)."""
    newest = await store.list_requests(bin_id, limit=1)
    if not newest:
        return
    last_id = newest[0].id
    cursor = 0
    for _ in range(last_id + 1):  # bounded: each round moves the cursor on by a row at least
        if query.empty:
            items = await store.requests_after(bin_id, after=cursor, limit=EXPORT_PAGE)
            more = len(items) == EXPORT_PAGE
            cursor = items[-1].id if items else cursor
        else:
            page = await store.find_requests(bin_id, query, after=cursor, limit=EXPORT_PAGE)
            items, more, cursor = page.items, page.more, page.next or cursor
        for summary in items:
            if summary.id > last_id:
                return
            captured = await store.get_request(bin_id, summary.id)
            if captured is not None:  # deleted meanwhile
                yield captured
        if not more or cursor >= last_id:
            return


def _attachment(filename: str) -> dict[str, str]:
    return {"content-disposition": f'attachment; filename="{filename}"'}


class BinsController(Controller):
    path = "/api/bins"
    tags = ["bins"]

    @post("/", status_code=201, summary="Create a bin")
    async def create_bin(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        settings: SettingsDep,
        data: CreateBin | None = None,
    ) -> Response[BinOut]:
        """Create a bin with an unguessable id, or with a chosen `name` (409 if taken).

        The answer carries the owner `token`, once: a private bin is read and changed only with it
        (Authorization: Bearer TOKEN); the capture URL stays open to senders.
        """
        bin, token = await open_bin(request, store, settings, data)
        out = _bin_out(request, settings, bin, 0, token=token)
        # 201 says where the new resource is (RFC 9110 §15.3.2).
        return Response(out, status_code=201, headers={"location": f"/api/bins/{bin.id}"})

    @patch("/{bin_id:str}", summary="Change a bin's settings", opt=OWNER_ONLY)
    async def update_bin(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        bins: BinsDep,
        settings: SettingsDep,
        bin_id: str,
        data: UpdateBin,
    ) -> BinOut:
        checked_retention(data.ttl_seconds, data.max_requests)
        changes = BinChanges(
            private=data.private if data.private is not None else msgspec.UNSET,
            expires_at=datetime.now(UTC) + timedelta(seconds=data.ttl_seconds)
            if data.ttl_seconds is not None
            else msgspec.UNSET,
            max_requests=data.max_requests if data.max_requests is not None else msgspec.UNSET,
        )
        bin = await change_bin(store, bins, bin_id, changes)
        return _bin_out(request, settings, bin, await store.count_requests(bin_id))

    @get("/{bin_id:str}/response", summary="How the bin answers senders")
    async def get_response(self, store: StoreDep, bin_id: str) -> ResponseSettings | None:
        return (await existing_bin(store, bin_id)).response

    @put("/{bin_id:str}/response", summary="Set how the bin answers senders", opt=OWNER_ONLY)
    async def set_response(
        self,
        store: StoreDep,
        bins: BinsDep,
        settings: SettingsDep,
        bin_id: str,
        data: ResponseSettings | None,
    ) -> ResponseSettings | None:
        """Status, headers, body template, delay, rules by method and sub-path (first match wins,
        `default` last), `cors`, and `handshakes` (answer Slack, Zoom, Meta, Twitch, Microsoft Graph
        and Dropbox URL-verification challenges; `verify_token` is Meta's). Body templates take
        {{method}}, {{path}}, {{query.NAME}}, {{header.NAME}}, {{json.a.b}} and more; values are
        inserted as text, escaped for JSON and HTML bodies, never evaluated. null restores the
        built-in answer."""
        await change_bin(store, bins, bin_id, BinChanges(response=checked_response(settings, data)))
        return data

    @post("/{bin_id:str}/share", status_code=200, summary="Make a read-only share link", opt=OWNER_ONLY)
    async def share(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        bins: BinsDep,
        settings: SettingsDep,
        bin_id: str,
    ) -> ShareOut:
        """A new share token (the previous one stops working): it reads the bin, never changes it."""
        token = new_token()
        await change_bin(store, bins, bin_id, BinChanges(share_token_hash=token_hash(token)))
        base = public_base_url(request.scope, settings.trusted_proxies, settings.public_url)
        return ShareOut(share_token=token, share_url=f"{base}/bins/{bin_id}?share={token}")

    @get("/{bin_id:str}", summary="Describe a bin")
    async def get_bin(
        self, request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep, bin_id: str
    ) -> BinOut:
        bin = await existing_bin(store, bin_id)
        return _bin_out(request, settings, bin, await store.count_requests(bin_id))

    @delete("/{bin_id:str}", summary="Delete a bin and everything it captured", opt=OWNER_ONLY)
    async def delete_bin(self, store: StoreDep, bins: BinsDep, bin_id: str) -> None:
        if not await store.delete_bin(bin_id):
            raise NotFoundException(f"There is no bin named {bin_id!r}.")
        await bins.changed(bin_id, deleted=True)

    @delete("/{bin_id:str}/requests", summary="Clear a bin", opt=OWNER_ONLY)
    async def clear_bin(self, store: StoreDep, hub: HubDep, bin_id: str) -> None:
        await existing_bin(store, bin_id)
        await store.clear_requests(bin_id)
        await hub.announce(Event(kind="bin_cleared", bin_id=bin_id))

    @get("/{bin_id:str}/requests", summary="List or search captured requests, newest first")
    async def list_requests(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        bin_id: str,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Page size")] = 50,
        before: Annotated[
            int | None,
            Parameter(
                ge=1, le=MAX_ID, description="Only requests older than this id (the previous page's `next`)"
            ),
        ] = None,
    ) -> RequestPage:
        """Filters (all must hold; repeated method/header/query/json: see docs/search.md): `method`, `path`
        (glob on the sub-path), `q` (body text), `header=name:value`, `query=key:value`,
        `json=a.b.c:value`, `content_type`, `min_size`, `max_size`, `since`, `until`, `provider`,
        `event`, `signature=valid|invalid|unchecked`, `forward=delivered|failed|pending`; unknown
        parameters are a 400. A filtered page looks at a bounded number of rows, so it may hold fewer
        than `limit` items: keep following `next` until it is null."""
        query = request_filters(request, "limit", "before")
        await existing_bin(store, bin_id)
        if not query.empty:
            found = await store.find_requests(bin_id, query, limit=limit, before=before)
            return RequestPage(items=found.items, next=found.next)
        # One extra row tells whether an older page exists without a second query.
        rows = await store.list_requests(bin_id, limit=limit + 1, before=before)
        items = rows[:limit]
        return RequestPage(items=items, next=items[-1].id if len(rows) > limit else None)

    @get("/{bin_id:str}/requests/{request_id:int}", summary="One captured request in full")
    async def get_request(self, store: StoreDep, bin_id: str, request_id: Id) -> RequestOut:
        """The body is text when it is valid UTF-8, else base64; `body_encoding` says which."""
        return request_out(await existing_request(store, bin_id, request_id))

    @get(
        "/{bin_id:str}/requests/{request_id:int}/body",
        summary="The exact body bytes",
        media_type="application/octet-stream",
    )
    async def get_body(
        self, store: StoreDep, bin_id: str, request_id: Id, download: bool = False
    ) -> Response[bytes]:
        """The body as received, with its original Content-Type (application/octet-stream in place of
        a script or stylesheet type); `download=true` saves it as a file."""
        captured = await existing_request(store, bin_id, request_id)
        return _bytes_response(
            captured.body, captured.content_type, f"request-{request_id}.bin", attachment=download
        )

    @get("/{bin_id:str}/requests/{request_id:int}/parts/{index:int}", summary="One part of a multipart body")
    async def get_part(self, store: StoreDep, bin_id: str, request_id: Id, index: Index) -> Response[bytes]:
        """The exact bytes of a multipart body's part (0 is the first), as a download."""
        captured = await existing_request(store, bin_id, request_id)
        parts = describe(captured).parts or ()
        if not 0 <= index < len(parts):
            raise NotFoundException(f"Request {request_id} has no multipart part {index}.")
        part = parts[index]
        return _bytes_response(
            part.data,
            part.content_type,
            part.filename or f"request-{request_id}-part-{index}.bin",
            attachment=True,
        )

    @delete("/{bin_id:str}/requests/{request_id:int}", summary="Delete one captured request", opt=OWNER_ONLY)
    async def delete_request(self, store: StoreDep, hub: HubDep, bin_id: str, request_id: Id) -> None:
        await existing_bin(store, bin_id)
        if not await store.delete_request(bin_id, request_id):
            raise NotFoundException(f"Bin {bin_id!r} has no request {request_id}.")
        await hub.announce(Event(kind="request_deleted", bin_id=bin_id, request_id=request_id))

    @get("/{bin_id:str}/requests/{request_id:int}/export", summary="Export one captured request")
    async def export_request(
        self,
        store: StoreDep,
        bin_id: str,
        request_id: Id,
        fmt: Annotated[
            Literal["har", "curl", "raw", "json"],
            Parameter(query="format", description="har, curl, raw or json"),
        ],
    ) -> Response[Any]:
        """`har`: a HAR 1.2 log of the one request; `curl`: a shell command that makes it again;
        `raw`: the HTTP/1.1 bytes; `json`: the record as GET .../requests/{rid} gives it."""
        captured = await existing_request(store, bin_id, request_id)
        name = f"request-{request_id}"
        if fmt == "har":
            data = msgspec.json.encode(to_har([captured]))
            return Response(data, media_type="application/json", headers=_attachment(f"{name}.har"))
        if fmt == "curl":
            try:
                command = to_curl(captured)
            except ValueError as exc:  # a header cURL cannot carry (NUL, CR, LF)
                raise ClientException(f"This request cannot be written as a cURL command: {exc}") from None
            return Response(
                command + "\n", media_type="text/plain; charset=utf-8", headers=_attachment(f"{name}.sh")
            )
        if fmt == "raw":
            return _bytes_response(to_raw_http(captured), "message/http", f"{name}.http", attachment=True)
        return Response(msgspec.json.encode(request_out(captured)), media_type="application/json")

    @get("/{bin_id:str}/export", summary="Export a bin (or the captures that pass filters)")
    async def export_bin(
        self,
        request: Request[Any, Any, Any],
        store: StoreDep,
        bin_id: str,
        fmt: Annotated[Literal["har", "ndjson"], Parameter(query="format", description="har or ndjson")],
    ) -> Stream:
        """Oldest first, as of the call. `har`: one HAR 1.2 log; `ndjson`: one record per line, each as
        GET .../requests/{rid} gives it. Takes the filters of GET .../requests. Both import back."""
        query = request_filters(request, "format")
        await existing_bin(store, bin_id)
        captures = matching_requests(store, bin_id, query)
        if fmt == "ndjson":

            async def lines() -> AsyncIterator[bytes]:
                async for captured in captures:
                    yield msgspec.json.encode(request_out(captured)) + b"\n"

            return Stream(
                lines(), media_type="application/x-ndjson", headers=_attachment(f"bin-{bin_id}.ndjson")
            )
        # The HAR log is written around its entries, one at a time, so a large bin is never held whole.
        head, tail = msgspec.json.encode(to_har([])).split(b'"entries":[]')

        async def har() -> AsyncIterator[bytes]:
            yield head + b'"entries":['
            first = True
            async for captured in captures:
                yield (b"" if first else b",") + msgspec.json.encode(har_entry(captured))
                first = False
            yield b"]" + tail

        return Stream(har(), media_type="application/json", headers=_attachment(f"bin-{bin_id}.har"))

    @post(
        "/{bin_id:str}/import",
        status_code=201,
        summary="Import captures (HAR or NDJSON)",
        opt=OWNER_ONLY,
        request_max_body_size=MAX_IMPORT_BYTES,
    )
    async def import_requests(
        self, request: Request[Any, Any, Any], store: StoreDep, hub: HubDep, bin_id: str
    ) -> ImportOut:
        """Takes what `export` gives (a HAR log, or NDJSON records) and adds each capture to this bin,
        in order, with its method, sub-path, query, headers and body bytes unchanged and new ids."""
        bin = await existing_bin(store, bin_id)
        try:
            captures = parse_import(await request.body(), bin_id=bin_id)
        except BadImport as exc:
            raise ClientException(f"Cannot import: {exc}") from None
        if len(captures) > MAX_IMPORT:
            raise ClientException(f"Cannot import: at most {MAX_IMPORT} captures at once")
        background = bool(bin.forward_targets) or bin.has_secrets
        ids = []
        for captured in captures:
            stored = await store.add_capture(captured)
            ids.append(stored.id)
            await hub.announce(captured_event(captured, stored, background=background))
        return ImportOut(imported=len(ids), ids=ids)
