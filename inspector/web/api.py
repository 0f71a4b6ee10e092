"""The JSON API: create and manage bins, read and delete what they captured."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Parameter

from inspector.bincache import BinCache
from inspector.bins import new_bin, new_token, token_hash
from inspector.bodies import describe
from inspector.capture import PREFIX
from inspector.config import PUBLIC_BINS_PER_CLIENT, Settings, bins_private_by_default, effective_limit
from inspector.hub import Event
from inspector.mediatypes import is_active_type
from inspector.models import MAX_ID, Bin, BinChanges, CapturedRequest, RequestSummary
from inspector.proxies import public_base_url, scope_origin
from inspector.responses import ResponseSettings, validate_settings
from inspector.store import BinExists, Store, TooManyBins
from inspector.web.access import OWNER_ONLY
from inspector.web.deps import BinsDep, HubDep, Id, Index, SettingsDep, StoreDep

MAX_PAGE = 500
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
    )


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
        await hub.publish(Event(kind="bin_cleared", bin_id=bin_id))

    @get("/{bin_id:str}/requests", summary="List captured requests, newest first")
    async def list_requests(
        self,
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
        await existing_bin(store, bin_id)
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
        await hub.publish(Event(kind="request_deleted", bin_id=bin_id, request_id=request_id))
