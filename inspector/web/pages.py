"""The HTML pages of the dashboard, rendered on the server with Jinja2 and made live with htmx."""

from __future__ import annotations

import shlex
from typing import Annotated, Any
from urllib.parse import parse_qsl

from litestar import Request, delete, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.params import Body
from litestar.response import Redirect, Template

from inspector import signatures
from inspector.bins import new_bin
from inspector.bodies import describe
from inspector.capture import PREFIX
from inspector.exports import to_curl, to_raw_http
from inspector.models import Bin, CapturedRequest
from inspector.proxies import public_base_url
from inspector.store import Store
from inspector.web.deps import HubDep, SettingsDep, StoreDep
from inspector.web.signatures import (
    SecretIn,
    SignIn,
    VerifyIn,
    checked_secret,
    remember,
    run_sign,
    run_verify,
    secret_out,
)

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
        "providers": signatures.names(),
        "detected_provider": signatures.detect(captured),
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
            "secrets": [secret_out(secret) for secret in await store.get_secrets(bin.id)],
            "providers": signatures.names(),
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


Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
_GENERIC_FIELDS = ("header", "algorithm", "encoding", "prefix", "payload", "timestamp_header")


def _form_options(form: dict[str, str]) -> dict[str, Any]:
    """Provider options from the panel's fields; empty fields mean "the provider's default"."""
    options: dict[str, Any] = {
        name: form[name] for name in ("url", *_GENERIC_FIELDS) if form.get(name, "").strip()
    }
    provider = form.get("provider", "")
    allowed = set(signatures.options(provider)) if provider in signatures.names() else set(options)
    return {name: value for name, value in options.items() if name in allowed}


@post("/bins/{bin_id:str}/requests/{request_id:int}/verify", include_in_schema=False, status_code=200)
async def verify_panel(store: StoreDep, hub: HubDep, bin_id: str, request_id: int, data: Form) -> Template:
    """The request view's "Check signature" panel: the verdict with its diagnosis, as a fragment."""
    captured = await store.get_request(bin_id, request_id)
    if captured is None:
        return Template("_request_gone.html", context={"request_id": request_id})
    query = VerifyIn(
        provider=data.get("provider", "auto"), secret=data.get("secret", ""), options=_form_options(data)
    )
    try:
        verdict = run_verify(captured, query)
    except ClientException as exc:
        return Template("_verdict.html", context={"verdict": None, "error": exc.detail, "remembered": False})
    remembered = False
    if data.get("remember") == "on" and verdict.provider in signatures.names():
        await remember(
            store,
            hub,
            bin_id,
            checked_secret(verdict.provider, SecretIn(query.secret, query.options)),
            captured,
        )
        remembered = True
    return Template("_verdict.html", context={"verdict": verdict, "error": None, "remembered": remembered})


@delete(
    "/bins/{bin_id:str}/secrets/{provider:str}",
    include_in_schema=False,
    status_code=200,
    media_type="text/html",
)
async def forget_secret(store: StoreDep, bin_id: str, provider: str) -> str:
    """Forget a remembered secret; the empty answer replaces its line on the page."""
    await store.delete_secret(bin_id, provider)
    return ""


@post("/bins/{bin_id:str}/sign", include_in_schema=False, status_code=200)
async def sign_panel(
    request: Request[Any, Any, Any], settings: SettingsDep, bin_id: str, data: Form
) -> Template:
    """The bin page's "Sign a test request" panel: headers and a ready curl command."""
    try:
        signed = run_sign(
            SignIn(
                provider=data.get("provider", ""),
                secret=data.get("secret", ""),
                body=data.get("body", ""),
                options=_form_options(data),
            )
        )
    except ClientException as exc:
        return Template("_signed.html", context={"signed": None, "error": exc.detail, "curl": ""})
    target = data.get("target", "").strip() or f"{_base_url(request, settings)}{PREFIX}{bin_id}"
    return Template(
        "_signed.html", context={"signed": signed, "error": None, "curl": signed_curl(signed, target)}
    )


def signed_curl(signed: Any, target: str) -> str:
    parts = ["curl", "-X", "POST", signed.url or target]
    for name, value in signed.headers:
        parts += ["-H", f"{name}: {value}"]
    if signed.body_encoding == "utf-8":
        parts += ["--data-binary", signed.body]
        return shlex.join(parts)
    return f"printf %s {shlex.quote(signed.body)} | base64 -d | {shlex.join([*parts, '--data-binary', '@-'])}"
