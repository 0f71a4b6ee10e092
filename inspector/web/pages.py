"""The HTML pages of the dashboard, rendered on the server with Jinja2 and made live with htmx."""

from __future__ import annotations

import base64
import difflib
import math
import shlex
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import msgspec
from litestar import Request, delete, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, HTTPException
from litestar.params import Body
from litestar.response import Redirect, Response, Template

from inspector import handshakes, signatures, simulator
from inspector.bins import new_token, owner_cookie, share_cookie, token_hash, token_matches
from inspector.bodies import SHOWN_BYTES, describe, describe_body
from inspector.capture import PREFIX
from inspector.exports import to_curl, to_raw_http
from inspector.models import Attempt, Bin, BinChanges, CapturedRequest
from inspector.proxies import public_base_url
from inspector.responses import ResponseRule, ResponseSettings, ResponseSpec
from inspector.search import EMPTY, BadFilter, RequestQuery, parse_filters
from inspector.store import Store
from inspector.targets import TargetRefused
from inspector.web.access import OWNER, OWNER_ONLY, TOKEN_PARAMETERS, allowed, presented_tokens
from inspector.web.api import MAX_KEPT, MAX_TTL, change_bin, checked_response, checked_retention, open_bin
from inspector.web.deliveries import ReplayIn, checked_targets, decode_result, deliveries_of, replay
from inspector.web.deps import BinsDep, HubDep, Id, SettingsDep, StoreDep
from inspector.web.signatures import (
    SecretIn,
    SignIn,
    VerifyIn,
    checked_secret,
    remember,
    run_sign,
    run_verify,
    secret_out,
    with_fetched_certificate,
)
from inspector.web.templating import is_sensitive, wire_text

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


def _page_filters(request: Request[Any, Any, Any], *others: str) -> tuple[RequestQuery, str | None]:
    """The filters in a page's URL, and what is wrong with them (the page then shows everything)."""
    try:
        return parse_filters(request.query_params.multi_items(), ignore=(*TOKEN_PARAMETERS, *others)), None
    except BadFilter as exc:
        return EMPTY, str(exc)


async def _page_of_rows(
    store: Store, bin_id: str, before: int | None, query: RequestQuery = EMPTY
) -> dict[str, Any]:
    # The filter goes along in every URL the rows lead to (older rows, the live stream).
    context = {"bin_id": bin_id, "query": query, "filter_qs": urlencode(query.params())}
    if not query.empty:
        found = await store.find_requests(bin_id, query, limit=PAGE_SIZE, before=before)
        return {**context, "rows": found.items, "next": found.next}
    rows = await store.list_requests(bin_id, limit=PAGE_SIZE + 1, before=before)
    shown = rows[:PAGE_SIZE]
    return {**context, "rows": shown, "next": shown[-1].id if len(rows) > PAGE_SIZE else None}


def _is_owner(request: Request[Any, Any, Any], bin: Bin) -> bool:
    """Whether this viewer may change the bin: pages show only the controls its holder may use."""
    return allowed(bin, presented_tokens(request, bin.id), OWNER)


async def _handshake_note(store: Store, bin: Bin, captured: CapturedRequest) -> str | None:
    """What the bin does with the challenge this request carries, if it is one, by its current settings.

    Answers are not stored, so this is worked out again from the bin's settings as they are now.
    """
    challenge = handshakes.recognise(captured)
    if challenge is None:
        return None
    label = f"{challenge.provider} {challenge.name}"
    answers = bin.response
    if not (answers and answers.handshakes):
        return f"{label}, not answered (this bin does not answer handshakes)"
    zoom_secret = None
    if challenge.provider == "Zoom":
        zoom_secret = next((s.secret for s in await store.get_secrets(bin.id) if s.provider == "zoom"), None)
    outcome = handshakes.answer(captured, zoom_secret=zoom_secret, verify_token=answers.verify_token)
    return f"{label}, {outcome.note}" if outcome else None


async def _detail_context(
    store: Store, captured: CapturedRequest, bin: Bin | None = None, *, owner: bool
) -> dict[str, Any]:
    # Past SHOWN_BYTES the body is not written into the page (editor, cURL): it is downloaded.
    large = len(captured.body) > SHOWN_BYTES
    view = describe(captured)
    return {
        "owner": owner,
        "handshake": await _handshake_note(store, bin, captured) if bin else None,
        "captured": captured,
        "captured_path": _captured_path(captured),
        "attempts": await store.list_attempts(captured.bin_id, captured.id),
        "forward_jobs": await store.forward_jobs(captured.bin_id, captured.id),
        "providers": signatures.names(),
        "detected_provider": signatures.detect(captured),
        "view": view,
        "query_params": parse_qsl(captured.query, keep_blank_values=True),
        "large_body": large,
        "body_file": f"request-{captured.id}.bin",
        "editable_body": not large and view.text_valid is not False,
        "curl_lines": _masked_curl(captured, body_file=f"request-{captured.id}.bin" if large else None),
        **_masked_raw(captured),
        "secret_headers": [(name, value) for name, value in captured.headers if is_sensitive(name)],
        "mask": MASK,
        "chunked": any(name.lower() == "transfer-encoding" for name, _ in captured.headers),
    }


# What a masked header value shows; in the replay editor, a value left as this is sent as captured.
MASK = "••••••••"
_CURL_PLACEHOLDER = "INSPECTOR-MASKED-VALUE"


def _masked_raw(captured: CapturedRequest) -> dict[str, Any]:
    """The Raw tab as lines, credential and signature values apart so that they can be masked.

    Each head line is (text, secret): the secret (or None) follows the text and is shown masked.
    """
    raw = to_raw_http(captured, max_body=SHOWN_BYTES)
    head, _, body = raw.partition(b"\r\n\r\n")  # header values never hold CR or LF
    request_line = head.split(b"\r\n", 1)[0]
    lines: list[tuple[str, str | None]] = [(wire_text(request_line), None)]
    for name, value in captured.headers:
        if is_sensitive(name):
            lines.append((wire_text(f"{name}: ".encode("latin-1")), wire_text(value.encode("latin-1"))))
        else:
            lines.append((wire_text(f"{name}: {value}".encode("latin-1")), None))
    return {"raw_lines": lines, "raw_body": wire_text(body), "raw_size": len(raw)}


def _masked_curl(captured: CapturedRequest, *, body_file: str | None) -> list[tuple[str, str | None]]:
    """The cURL command as lines (text, secret): a line with a masked header is shown as `text`
    (the value replaced by the mask) until revealed, then as `secret`, the line itself."""
    curl = to_curl(captured, body_file=body_file)
    placeholders = [
        (name, _CURL_PLACEHOLDER if is_sensitive(name) else value) for name, value in captured.headers
    ]
    masked = to_curl(msgspec.structs.replace(captured, headers=placeholders), body_file=body_file)
    real_lines, masked_lines = curl.split("\n"), masked.split("\n")
    if len(real_lines) != len(masked_lines):  # cannot happen (one line per header); never show it in clear
        return [(MASK, curl)]
    return [
        (real, None) if real == shown else (shown.replace(_CURL_PLACEHOLDER, MASK), real)
        for real, shown in zip(real_lines, masked_lines, strict=True)
    ]


async def _bin_page(
    request: Request[Any, Any, Any],
    store: Store,
    settings: SettingsDep,
    bin: Bin,
    detail: dict[str, Any] | None,
    *,
    settings_view: bool = False,
) -> Template:
    query, filter_error = _page_filters(request)
    page = await _page_of_rows(store, bin.id, None, query)
    newest = page["rows"][:1] if query.empty else await store.list_requests(bin.id, limit=1)
    return Template(
        "bin.html",
        context={
            **page,
            **await _settings_context(request, store, settings, bin),
            "count": await store.count_requests(bin.id),
            # The live stream resumes after the newest row shown, so nothing slips between render and connect.
            "after": newest[0].id if newest else 0,
            "filter_error": filter_error,
            "detail": detail is not None,
            "settings_view": settings_view,
            **(detail or {}),
        },
    )


async def _settings_context(
    request: Request[Any, Any, Any], store: Store, settings: SettingsDep, bin: Bin
) -> dict[str, Any]:
    """What the bin bar and the settings view show."""
    owner = _is_owner(request, bin)
    return {
        "bin": bin,
        "owner": owner,
        "capture_url": f"{_base_url(request, settings)}{PREFIX}{bin.id}",
        "secrets": [secret_out(secret) for secret in await store.get_secrets(bin.id)] if owner else [],
        "refused": request.app.state.refused.get(bin.id, 0),
        "max_requests": bin.max_requests or settings.max_requests,
        "max_kept": MAX_KEPT,
        "ttl_days": _days_left(bin),
        "providers": signatures.names(),
        "sample_events": [(name, list(simulator.catalogue(name).events)) for name in simulator.providers()],
        # Shown once, right after it is made: only its hash is kept.
        "share_url": None,
        "saved": False,
        "error": None,
    }


def _days_left(bin: Bin) -> float:
    seconds = (bin.expires_at - datetime.now(UTC)).total_seconds()
    return max(0.0, round(seconds / 86400, 2))


@get("/", include_in_schema=False)
async def home(request: Request[Any, Any, Any], settings: SettingsDep) -> Template:
    return Template("home.html", context={"base_url": _base_url(request, settings)})


@post("/bins", include_in_schema=False, status_code=303)
async def create_bin(request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep) -> Redirect:
    """The "New bin" button: the browser keeps the owner token in a cookie for this bin."""
    bin, token = await open_bin(request, store, settings, None)
    cookies = _token_cookies(request, settings, owner_cookie(bin.id), token, bin)
    return Redirect(f"/bins/{bin.id}", status_code=303, cookies=cookies)


def _token_cookies(
    request: Request[Any, Any, Any], settings: SettingsDep, name: str, token: str, bin: Bin
) -> list[Cookie]:
    """A bin's token as cookies that reach only that bin's pages and API, never a capture URL.

    With Path=/ a browser would send every token it holds to any bin it is led to (a link, a
    redirect), where the bin's creator reads them from the captured Cookie header. Cookies have one
    path each, so the dashboard's two prefixes get one cookie each.
    """
    seconds = max(60, int((bin.expires_at - datetime.now(UTC)).total_seconds()))
    secure = _base_url(request, settings).startswith("https://")
    return [
        Cookie(
            key=name,
            value=token,
            path=path,
            max_age=seconds,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        for path in (f"/bins/{bin.id}", f"/api/bins/{bin.id}")
    ]


def _link_cookies(request: Request[Any, Any, Any], settings: SettingsDep, bin: Bin) -> list[Cookie]:
    """A token or share link opened in the browser is kept in a cookie, so later requests need no link."""
    cookies = []
    if (token := request.query_params.get("token")) and token_matches(token, bin.owner_token_hash):
        cookies += _token_cookies(request, settings, owner_cookie(bin.id), token, bin)
    if (share := request.query_params.get("share")) and token_matches(share, bin.share_token_hash):
        cookies += _token_cookies(request, settings, share_cookie(bin.id), share, bin)
    if any(name in request.cookies for name in (owner_cookie(bin.id), share_cookie(bin.id))):
        # Earlier versions set these cookies with Path=/, which capture URLs match: expire them.
        cookies += [
            Cookie(key=name, value="", path="/", max_age=0, httponly=True, samesite="lax")
            for name in (owner_cookie(bin.id), share_cookie(bin.id))
        ]
    return cookies


def _without_tokens(request: Request[Any, Any, Any], settings: SettingsDep, bin: Bin) -> Redirect | None:
    """A page opened with ?token= or ?share= keeps it in a cookie and moves to the URL without it,
    so the token leaves the address bar, the history and any screenshot of the page."""
    query = parse_qsl(request.url.query or "", keep_blank_values=True)
    if not any(name in TOKEN_PARAMETERS for name, _ in query):
        return None
    kept = urlencode([(name, value) for name, value in query if name not in TOKEN_PARAMETERS])
    return Redirect(
        request.url.path + (f"?{kept}" if kept else ""),
        status_code=303,
        cookies=_link_cookies(request, settings, bin),
    )


def access_denied_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """People opening a private bin get a page saying how to get in; API clients get JSON."""
    # A 401 names the scheme that gets in (RFC 9110 §11.6.1).
    headers = {"www-authenticate": 'Bearer realm="bins"'} if exc.status_code == 401 else {}
    if request.url.path.startswith("/api/") or request.url.path.endswith("/events"):
        body = {"status_code": exc.status_code, "detail": exc.detail}
        return Response(body, status_code=exc.status_code, headers=headers)
    context = {"bin_id": request.path_params.get("bin_id", ""), "detail": exc.detail}
    return Template("private.html", context=context, status_code=exc.status_code, headers=headers)


@get("/bins/{bin_id:str}", include_in_schema=False)
async def bin_page(
    request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep, bin_id: str
) -> Template | Redirect:
    bin = await store.get_bin(bin_id)
    if bin is None:
        return _missing(bin_id)
    if clean := _without_tokens(request, settings, bin):
        return clean
    page = await _bin_page(request, store, settings, bin, None)
    page.cookies.extend(_link_cookies(request, settings, bin))
    return page


@get("/bins/{bin_id:str}/rows", include_in_schema=False)
async def older_rows(request: Request[Any, Any, Any], store: StoreDep, bin_id: str, before: Id) -> Template:
    """The next page of older rows, for the "Load older" button (keyset paging, like the API)."""
    if await store.get_bin(bin_id) is None:
        return _missing(bin_id)
    query, _ = _page_filters(request, "before")
    return Template("_rows.html", context=await _page_of_rows(store, bin_id, before, query))


@get("/bins/{bin_id:str}/requests/{request_id:int}", include_in_schema=False)
async def request_page(
    request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep, bin_id: str, request_id: Id
) -> Template | Redirect:
    bin = await store.get_bin(bin_id)
    if bin is None:
        return _missing(bin_id)
    if clean := _without_tokens(request, settings, bin):
        return clean
    captured = await store.get_request(bin_id, request_id)
    if captured is None:
        if _is_fragment_request(request):
            return Template("_request_gone.html", context={"request_id": request_id}, status_code=200)
        return _missing(bin_id)
    detail = await _detail_context(store, captured, bin, owner=_is_owner(request, bin))
    if _is_fragment_request(request):
        return Template("_request_detail.html", context=detail)
    return await _bin_page(request, store, settings, bin, detail)


@get("/bins/{bin_id:str}/settings", include_in_schema=False, opt=OWNER_ONLY)
async def settings_page(
    request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep, bin_id: str
) -> Template | Redirect:
    """Every setting of the bin in one view, in the detail pane (htmx) or as the whole page."""
    bin = await store.get_bin(bin_id)
    if bin is None:
        return _missing(bin_id)
    if _is_fragment_request(request):
        return Template("_settings.html", context=await _settings_context(request, store, settings, bin))
    return await _bin_page(request, store, settings, bin, None, settings_view=True)


SETTINGS_PARTS = ("privacy", "share", "unshare", "retention")


@post("/bins/{bin_id:str}/settings/{part:str}", include_in_schema=False, status_code=200, opt=OWNER_ONLY)
async def settings_change(
    request: Request[Any, Any, Any],
    store: StoreDep,
    bins: BinsDep,
    settings: SettingsDep,
    bin_id: str,
    part: str,
    data: Form,
) -> Template:
    """A form of the settings view: privacy, the share link (make or revoke), retention."""
    bin = await store.get_bin(bin_id)
    if bin is None:
        return _missing(bin_id)
    if part not in SETTINGS_PARTS:
        raise ClientException(f"Unknown setting {part!r}: one of {', '.join(SETTINGS_PARTS)}.")
    share_url = None
    error = None
    try:
        if part == "privacy":
            private = data.get("private") == "on"
            holds_owner_token = any(
                token_matches(token, bin.owner_token_hash) for token in presented_tokens(request, bin_id)
            )
            if private and not holds_owner_token:
                # Open bins let anyone change them, so this browser may not hold the token: making the bin
                # private now would lock it out of its own page.
                raise ClientException(
                    "This browser does not hold the bin's owner token, so a private bin would be closed "
                    "to it: open the bin once with ?token=TOKEN (the token its creator got), then make it "
                    "private."
                )
            bin = await change_bin(store, bins, bin_id, BinChanges(private=private))
        elif part == "share":
            token = new_token()
            bin = await change_bin(store, bins, bin_id, BinChanges(share_token_hash=token_hash(token)))
            share_url = f"{_base_url(request, settings)}/bins/{bin_id}?share={token}"
        elif part == "unshare":
            bin = await change_bin(store, bins, bin_id, BinChanges(share_token_hash=None))
        else:
            bin = await _change_retention(store, bins, bin, data)
    except (ClientException, ValueError) as exc:
        error = exc.detail if isinstance(exc, ClientException) else str(exc)
    context = await _settings_context(request, store, settings, bin)
    context.update(
        share_url=share_url, error=error, saved=error is None, count=await store.count_requests(bin_id)
    )
    if part == "retention" and error is None:
        # A lower limit deletes the oldest requests at once: the list shows what is kept.
        context.update(await _page_of_rows(store, bin_id, None))
    template = "_retention.html" if part == "retention" else "_sharing.html"
    return Template(template, context=context)


async def _change_retention(store: Store, bins: BinsDep, bin: Bin, form: dict[str, str]) -> Bin:
    try:
        kept, expiry = form.get("max_requests", "").strip(), form.get("ttl_days", "").strip()
        max_requests = int(kept) if kept else None
        days = float(expiry) if expiry else None
    except ValueError:
        raise ValueError("Keep and expiry must be numbers.") from None
    if days is not None and not math.isfinite(days):
        raise ValueError("The expiry must be a number of days.")
    # The expiry is moved only when its field was changed: saving the limit alone keeps it as it is.
    changed = form.get("ttl_days", "").strip() != form.get("ttl_days_shown", "").strip()
    ttl_seconds = max(0, round(days * 86400)) if days is not None and changed and not bin.fixed else None
    if max_requests is not None and not 1 <= max_requests <= MAX_KEPT:
        raise ValueError(f"Keep between 1 and {MAX_KEPT:,} requests.")
    if ttl_seconds is not None and not 1 <= ttl_seconds <= MAX_TTL:
        raise ValueError(f"The expiry must be between 1 second and {MAX_TTL // 86400} days from now.")
    checked_retention(ttl_seconds, max_requests)  # the API's rules, should they grow
    changes = BinChanges(
        max_requests=max_requests if max_requests is not None else msgspec.UNSET,
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl_seconds) if ttl_seconds else msgspec.UNSET,
    )
    return await change_bin(store, bins, bin.id, changes)


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


@post(
    "/bins/{bin_id:str}/requests/{request_id:int}/verify",
    include_in_schema=False,
    status_code=200,
    opt=OWNER_ONLY,
)
async def verify_panel(
    request: Request[Any, Any, Any],
    store: StoreDep,
    bins: BinsDep,
    hub: HubDep,
    bin_id: str,
    request_id: Id,
    data: Form,
) -> Template:
    """The request view's "Check signature" panel: the verdict with its diagnosis, as a fragment."""
    captured = await store.get_request(bin_id, request_id)
    if captured is None:
        return Template("_request_gone.html", context={"request_id": request_id})
    query = VerifyIn(
        provider=data.get("provider", "auto"),
        secret=data.get("secret", ""),
        options=_form_options(data),
        fetch_certificate=data.get("fetch_certificate") == "on",
    )
    try:
        if query.fetch_certificate:
            query = await with_fetched_certificate(captured, query, deliveries_of(request).policy)
        verdict = run_verify(captured, query)
    except HTTPException as exc:
        return Template("_verdict.html", context={"verdict": None, "error": exc.detail, "remembered": False})
    remembered = False
    if data.get("remember") == "on" and verdict.provider in signatures.names():
        await remember(
            store,
            bins,
            hub,
            bin_id,
            checked_secret(verdict.provider, SecretIn(query.secret, query.options)),
            captured,
        )
        remembered = True
    return Template("_verdict.html", context={"verdict": verdict, "error": None, "remembered": remembered})


@delete(
    "/bins/{bin_id:str}/secrets/{provider:str}",
    opt=OWNER_ONLY,
    include_in_schema=False,
    status_code=200,
    media_type="text/html",
)
async def forget_secret(store: StoreDep, bins: BinsDep, bin_id: str, provider: str) -> str:
    """Forget a remembered secret; the empty answer replaces its line on the page."""
    await store.delete_secret(bin_id, provider)
    await bins.changed(bin_id)
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
    content_type = data.get("content_type", "").strip()
    curl = signed_curl(signed, target, content_type)
    return Template("_signed.html", context={"signed": signed, "error": None, "curl": curl})


# The panel waits for its deliveries while the page waits for the panel: keep the count small.
MAX_PANEL_REPEAT = 3


@post("/bins/{bin_id:str}/trigger", include_in_schema=False, status_code=200, opt=OWNER_ONLY)
async def trigger_panel(
    request: Request[Any, Any, Any], settings: SettingsDep, bin_id: str, data: Form
) -> Template:
    """The bin page's "Send a test event" panel: a signed sample event, sent through the target policy."""
    provider, _, event = data.get("event", "").partition("/")
    target = data.get("target", "").strip() or f"{_base_url(request, settings)}{PREFIX}{bin_id}"
    secret = data.get("secret", "") or simulator.DEFAULT_SECRET
    try:
        repeat = int(data.get("repeat", "1") or 1)
    except ValueError:
        repeat = 0
    if not 1 <= repeat <= MAX_PANEL_REPEAT:
        error = f"Repeat takes a whole number from 1 to {MAX_PANEL_REPEAT}."
        return Template("_triggered.html", context={"error": error, "sent": [], "default_secret": None})
    policy = deliveries_of(request).policy
    try:
        policy.check_url(target)
        sent = await simulator.send(
            provider,
            event,
            to=target,
            secret=secret,
            policy=policy,
            sets=[line for line in data.get("sets", "").splitlines() if line.strip()],
            repeat=repeat,
            bad_signature=data.get("bad_signature") == "on",
            stale_timestamp=data.get("stale_timestamp") == "on",
        )
    except (simulator.SimulatorError, TargetRefused, ValueError) as exc:
        return Template("_triggered.html", context={"error": str(exc), "sent": [], "default_secret": None})
    default = None if data.get("secret") else secret
    return Template("_triggered.html", context={"error": None, "sent": sent, "default_secret": default})


def signed_curl(signed: Any, target: str, content_type: str = "") -> str:
    parts = ["curl", "-X", "POST", signed.url or target]
    # Without it curl labels the body application/x-www-form-urlencoded, which is not what was signed.
    if content_type and not any(name.lower() == "content-type" for name, _ in signed.headers):
        parts += ["-H", f"Content-Type: {content_type}"]
    for name, value in signed.headers:
        parts += ["-H", f"{name}: {value}"]
    if signed.body_encoding == "utf-8":
        parts += ["--data-binary", signed.body]
        return shlex.join(parts)
    return f"printf %s {shlex.quote(signed.body)} | base64 -d | {shlex.join([*parts, '--data-binary', '@-'])}"


def _header_lines(text: str) -> list[tuple[str, str]]:
    """Header rows typed as "Name: value", one per line."""
    headers = []
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers.append((name.strip(), value.strip()))
    return headers


def _unmasked(captured: CapturedRequest, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The replay editor shows credential and signature values masked: a value left masked is the
    captured one (the n-th header of that name gets the n-th captured value)."""
    captured_values: dict[str, list[str]] = {}
    for name, value in captured.headers:
        captured_values.setdefault(name.lower(), []).append(value)
    seen: dict[str, int] = {}
    result = []
    for name, value in headers:
        key = name.lower()
        index = seen.get(key, 0)
        seen[key] = index + 1
        values = captured_values.get(key, [])
        if value == MASK and index < len(values):
            value = values[index]
        result.append((name, value))
    return result


def _replay_request(captured: CapturedRequest, form: dict[str, str]) -> ReplayIn:
    body = form.get("body", "") if form.get("edit_body") == "on" else None
    headers = _unmasked(captured, _header_lines(form.get("headers", "")))
    set_headers: list[tuple[str, str]] = []
    remove_headers: list[str] = []
    if form.get("sign_provider") and form.get("sign_secret"):
        # Re-sign the bytes about to be sent with the user's test secret and a fresh timestamp,
        # so providers' tolerance windows pass on replayed requests.
        raw = body.encode() if body is not None else captured.body
        signed = run_sign(
            SignIn(
                provider=form["sign_provider"],
                secret=form["sign_secret"],
                body=base64.b64encode(raw).decode(),
                body_encoding="base64",
            )
        )
        set_headers = list(signed.headers)
        # Every signature header of that provider goes, not only those signing writes: a stale
        # one left beside the fresh one (GitHub's SHA-1, Svix's svix-*) fails at the receiver.
        remove_headers = signatures.replaced_headers(form["sign_provider"], signed.headers)
    path = form.get("path", "")
    return ReplayIn(
        target=form.get("target", "").strip(),
        method=form.get("method", "").strip() or None,
        path=path if path != _captured_path(captured) else None,
        headers=headers,
        set_headers=set_headers,
        remove_headers=remove_headers,
        body=body,
        follow_redirects=form.get("follow_redirects") == "on",
    )


def _captured_path(captured: CapturedRequest) -> str:
    return captured.sub_path + (f"?{captured.query}" if captured.query else "")


async def _attempts_context(store: Store, captured: CapturedRequest) -> dict[str, Any]:
    return {"captured": captured, "attempts": await store.list_attempts(captured.bin_id, captured.id)}


@post(
    "/bins/{bin_id:str}/requests/{request_id:int}/replay",
    include_in_schema=False,
    status_code=200,
    opt=OWNER_ONLY,
)
async def replay_panel(
    request: Request[Any, Any, Any], store: StoreDep, bin_id: str, request_id: Id, data: Form
) -> Template:
    """The Replay tab: send (maybe edited), then show the result and the updated attempt list."""
    captured = await store.get_request(bin_id, request_id)
    if captured is None:
        return Template("_request_gone.html", context={"request_id": request_id})
    try:
        attempt = await replay(deliveries_of(request), captured, _replay_request(captured, data))
    except ClientException as exc:
        return Template("_attempt.html", context={"error": exc.detail, "attempt": None})
    return Template(
        "_attempt.html",
        context={
            "error": None,
            "attempt": attempt_view(attempt),
            **await _attempts_context(store, captured),
            "oob": True,
        },
    )


@get("/bins/{bin_id:str}/requests/{request_id:int}/attempts/{attempt_id:int}", include_in_schema=False)
async def attempt_panel(store: StoreDep, bin_id: str, request_id: Id, attempt_id: Id) -> Template:
    attempts = {a.id: a for a in await store.list_attempts(bin_id, request_id)}
    if attempt_id not in attempts:
        return Template("_attempt.html", context={"error": "That attempt no longer exists.", "attempt": None})
    return Template(
        "_attempt.html", context={"error": None, "attempt": attempt_view(attempts[attempt_id]), "oob": False}
    )


@get("/bins/{bin_id:str}/requests/{request_id:int}/compare", include_in_schema=False)
async def compare_panel(store: StoreDep, bin_id: str, request_id: Id, a: Id, b: Id) -> Template:
    """Two attempts' responses side by side."""
    attempts = {attempt.id: attempt for attempt in await store.list_attempts(bin_id, request_id)}
    chosen = [attempt_view(attempts[i]) for i in (a, b) if i in attempts]
    diff = compare_answers(chosen[0], chosen[1]) if len(chosen) == 2 else None
    return Template("_compare.html", context={"pair": chosen, "diff": diff})


# Body lines compared at most: difflib is quadratic in the worst case, and pages stay small.
DIFF_LINES = 2000
DIFF_CONTEXT = 3


def compare_answers(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What differs between two attempts' answers: status, each header, the body line by line."""
    first, second = a["result"], b["result"]
    return {
        "status": (_status_text(first), _status_text(second)),
        "headers": _header_diff(first.response_headers, second.response_headers),
        "body": _body_diff(a, b),
    }


def _status_text(result: Any) -> str:
    if result.status is None:
        return f"no answer: {result.error or 'failed'}"
    return f"{result.status} {result.reason or ''}".strip()


def _header_diff(first: list[tuple[str, str]], second: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """One row per header name (repeats joined), in the order first seen: same, changed, added, removed."""

    def joined(headers: list[tuple[str, str]]) -> dict[str, str]:
        values: dict[str, list[str]] = {}
        for name, value in headers:
            values.setdefault(name.lower(), []).append(value)
        return {name: ", ".join(found) for name, found in values.items()}

    left, right = joined(first), joined(second)
    rows = []
    for name in [*left, *(name for name in right if name not in left)]:
        a, b = left.get(name), right.get(name)
        state = "same" if a == b else "added" if a is None else "removed" if b is None else "changed"
        rows.append({"name": name, "a": a, "b": b, "state": state})
    return rows


def _body_lines(view: Any) -> list[str] | None:
    """The body as shown (pretty-printed JSON and XML, decoded text), in lines; None when not text."""
    if view.kind == "empty":
        return []
    if view.text is None:
        return None
    return view.text.splitlines()[:DIFF_LINES]


def _body_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Line by line, unchanged runs cut to their edges; bodies that are not text: same or not."""
    same = a["result"].response_body == b["result"].response_body
    first, second = _body_lines(a["view"]), _body_lines(b["view"])
    if first is None or second is None:
        return {"comparable": False, "same": same, "lines": []}
    lines: list[dict[str, Any]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, first, second, autojunk=False).get_opcodes():
        if op == "equal":
            run = first[i1:i2]
            if len(run) > 2 * DIFF_CONTEXT + 1:
                kept = len(run) - 2 * DIFF_CONTEXT
                lines += [{"state": "same", "text": text} for text in run[:DIFF_CONTEXT]]
                lines.append({"state": "skipped", "text": f"… {kept} unchanged lines"})
                run = run[-DIFF_CONTEXT:]
            lines += [{"state": "same", "text": text} for text in run]
            continue
        lines += [{"state": "removed", "text": text} for text in first[i1:i2]]
        lines += [{"state": "added", "text": text} for text in second[j1:j2]]
    return {"comparable": True, "same": same, "lines": lines}


@post("/bins/{bin_id:str}/forward", include_in_schema=False, status_code=200, opt=OWNER_ONLY)
async def forward_panel(
    request: Request[Any, Any, Any], store: StoreDep, bins: BinsDep, bin_id: str, data: Form
) -> Template:
    """The bin page's auto-forward targets, one URL per line."""
    bin = await store.get_bin(bin_id)
    if bin is None:
        return _missing(bin_id)
    targets = [line for line in data.get("targets", "").splitlines() if line.strip()]
    try:
        cleaned = checked_targets(deliveries_of(request), bin_id, targets)
    except ClientException as exc:
        return Template("_forwarding.html", context={"bin": bin, "error": exc.detail, "saved": False})
    await store.set_forward_targets(bin_id, cleaned)
    await bins.changed(bin_id)
    bin = await store.get_bin(bin_id)
    return Template("_forwarding.html", context={"bin": bin, "error": None, "saved": True})


def attempt_view(attempt: Attempt) -> dict[str, Any]:
    """An attempt with its response body described for display, like a captured body."""
    result = decode_result(attempt)
    return {
        "attempt": attempt,
        "result": result,
        "view": describe_body(result.response_headers, result.response_body),
    }


@post("/bins/{bin_id:str}/response", include_in_schema=False, status_code=200, opt=OWNER_ONLY)
async def response_panel(
    store: StoreDep, bins: BinsDep, settings: SettingsDep, bin_id: str, data: Form
) -> Template:
    """The bin page's "Response" form: the default answer, CORS, and rules as JSON."""
    bin = await store.get_bin(bin_id)
    if bin is None:
        return _missing(bin_id)
    try:
        answers = _response_from_form(data)
        checked_response(settings, answers)
    except (ClientException, ValueError, msgspec.ValidationError) as exc:
        detail = exc.detail if isinstance(exc, ClientException) else str(exc)
        return Template("_response_form.html", context={"bin": bin, "error": detail, "saved": False})
    bin = await change_bin(store, bins, bin_id, BinChanges(response=answers))
    return Template("_response_form.html", context={"bin": bin, "error": None, "saved": True})


def _response_from_form(form: dict[str, str]) -> ResponseSettings | None:
    rules = (
        msgspec.json.decode(form["rules"].strip() or "[]", type=list[ResponseRule]) if "rules" in form else []
    )
    cors = form.get("cors") == "on"
    handshakes = form.get("handshakes") == "on"
    verify_token = form.get("verify_token", "").strip() or None
    if form.get("custom") != "on":
        if not (rules or cors or handshakes or verify_token):
            return None
        return ResponseSettings(rules=rules, cors=cors, handshakes=handshakes, verify_token=verify_token)
    try:
        status = int(form.get("status", "200") or 200)
        delay_ms = int(form.get("delay_ms", "0") or 0)
    except ValueError:
        raise ValueError("status and delay must be whole numbers") from None
    default = ResponseSpec(
        status=status,
        headers=_header_lines(form.get("headers", "")),
        body=form.get("body", ""),
        content_type=form.get("content_type", "").strip() or None,
        delay_ms=delay_ms,
    )
    return ResponseSettings(
        default=default, rules=rules, cors=cors, handshakes=handshakes, verify_token=verify_token
    )
