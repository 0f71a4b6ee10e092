"""The HTML pages of the dashboard, rendered on the server with Jinja2 and made live with htmx."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from litestar import Request, get, post
from litestar.response import Redirect, Template

from inspector.bins import new_bin
from inspector.bodies import describe
from inspector.capture import PREFIX
from inspector.exports import to_curl, to_raw_http
from inspector.models import Bin, CapturedRequest
from inspector.proxies import public_base_url
from inspector.store import Store
from inspector.web.deps import SettingsDep, StoreDep

PAGE_SIZE = 50


def _base_url(request: Request[Any, Any, Any], settings: SettingsDep) -> str:
    return public_base_url(request.scope, settings.trusted_proxies, settings.public_url)


def _missing(bin_id: str) -> Template:
    return Template("missing.html", context={"bin_id": bin_id}, status_code=404)


def _is_fragment_request(request: Request[Any, Any, Any]) -> bool:
    """htmx asks for just the changed part; history restores and plain navigation get whole pages."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


async def _page_of_rows(store: Store, bin_id: str, before: int | None) -> dict[str, Any]:
    rows = await store.list_requests(bin_id, limit=PAGE_SIZE + 1, before=before)
    shown = rows[:PAGE_SIZE]
    return {"rows": shown, "next": shown[-1].id if len(rows) > PAGE_SIZE else None, "bin_id": bin_id}


def _detail_context(captured: CapturedRequest) -> dict[str, Any]:
    return {
        "captured": captured,
        "view": describe(captured),
        "query_params": parse_qsl(captured.query, keep_blank_values=True),
        "curl": to_curl(captured),
        "raw": to_raw_http(captured),
    }


async def _bin_page(
    request: Request[Any, Any, Any],
    store: Store,
    settings: SettingsDep,
    bin: Bin,
    detail: dict[str, Any] | None,
) -> Template:
    page = await _page_of_rows(store, bin.id, None)
    base = _base_url(request, settings)
    return Template(
        "bin.html",
        context={
            **page,
            "bin": bin,
            "capture_url": f"{base}{PREFIX}{bin.id}",
            "count": await store.count_requests(bin.id),
            # The live stream resumes after the newest row shown, so nothing slips between render and connect.
            "after": page["rows"][0].id if page["rows"] else 0,
            "detail": detail is not None,
            **(detail or {}),
        },
    )


@get("/", include_in_schema=False)
async def home(request: Request[Any, Any, Any], settings: SettingsDep) -> Template:
    return Template("home.html", context={"base_url": _base_url(request, settings)})


@post("/bins", include_in_schema=False, status_code=303)
async def create_bin(store: StoreDep, settings: SettingsDep) -> Redirect:
    bin = new_bin(ttl_seconds=settings.bin_ttl_seconds)
    await store.create_bin(bin)
    return Redirect(f"/bins/{bin.id}", status_code=303)


@get("/bins/{bin_id:str}", include_in_schema=False)
async def bin_page(
    request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep, bin_id: str
) -> Template:
    bin = await store.get_bin(bin_id)
    if bin is None:
        return _missing(bin_id)
    return await _bin_page(request, store, settings, bin, None)


@get("/bins/{bin_id:str}/rows", include_in_schema=False)
async def older_rows(store: StoreDep, bin_id: str, before: int) -> Template:
    """The next page of older rows, for the "Load older" button (keyset paging, like the API)."""
    if await store.get_bin(bin_id) is None:
        return _missing(bin_id)
    return Template("_rows.html", context=await _page_of_rows(store, bin_id, before))


@get("/bins/{bin_id:str}/requests/{request_id:int}", include_in_schema=False)
async def request_page(
    request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep, bin_id: str, request_id: int
) -> Template:
    bin = await store.get_bin(bin_id)
    if bin is None:
        return _missing(bin_id)
    captured = await store.get_request(bin_id, request_id)
    if captured is None:
        if _is_fragment_request(request):
            return Template("_request_gone.html", context={"request_id": request_id}, status_code=200)
        return _missing(bin_id)
    detail = _detail_context(captured)
    if _is_fragment_request(request):
        return Template("_request_detail.html", context=detail)
    return await _bin_page(request, store, settings, bin, detail)
