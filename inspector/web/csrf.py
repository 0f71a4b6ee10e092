"""Cross-site request forgery: changes come only from this server's own pages or from non-browser clients."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from inspector.capture import answer_error
from inspector.proxies import TrustedProxies, public_base_url

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# What the JSON API reads from a request body. A browser can send text/plain, form or multipart bodies
# to another site without asking first (no CORS preflight); it cannot send these.
# NDJSON is what bin imports take; like JSON, it is not a type a page may send without a preflight.
JSON_TYPES = ("application/json", "application/x-ndjson")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def refusal(scope: dict[str, Any], trusted: TrustedProxies, public_url: str | None) -> str | None:
    """Why a request must be refused as cross-site, or None when it may go on.

    Browsers say where a request comes from: `Sec-Fetch-Site` (every current browser) or, failing
    that, `Origin`. Only "same-origin" passes, so a page on another port of the same host (the
    user's own app on localhost:3000) or on a sibling subdomain is refused like any other site.
    A request carrying neither header does not come from a browser's page (curl, scripts, CI), and
    such a client has no ambient credentials to abuse: it passes. This is OWASP's "Fetch Metadata"
    defence with the Origin check as its fallback; no token is needed in forms.
    """
    if scope["method"] in SAFE_METHODS:
        return None
    headers = {name: value for name, value in scope["headers"] if name in (b"sec-fetch-site", b"origin")}
    site = headers.get(b"sec-fetch-site")
    if site is not None:
        # "none": the user asked for it themselves (typed URL, bookmark); never forged by a page.
        if site in (b"same-origin", b"none"):
            return None
        return f"a {site.decode('latin-1')} request may not change anything here"
    origin = headers.get(b"origin")
    if origin is None:
        return None
    allowed = {
        _origin(public_base_url(scope, trusted, None)),
        *([_origin(public_url)] if public_url else []),
    }
    if origin.decode("latin-1").lower() in allowed:
        return None
    return f"a request from {origin.decode('latin-1')!r} may not change anything here"


def unreadable_body(scope: dict[str, Any]) -> str | None:
    """Why an API request's body must be refused: the JSON API takes only JSON."""
    if scope["method"] in SAFE_METHODS or not scope["path"].startswith("/api/"):
        return None
    content_type = b""
    has_body = False
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif (name == b"content-length" and value.strip() not in (b"", b"0")) or name == b"transfer-encoding":
            has_body = True
    if not has_body:
        return None
    essence = content_type.split(b";", 1)[0].strip().lower().decode("latin-1")
    if essence in JSON_TYPES or (essence.startswith("application/") and essence.endswith("+json")):
        return None
    shown = essence or "no Content-Type"
    return f"this API takes JSON bodies (Content-Type: application/json), not {shown}"


class CrossSiteGuard:
    """ASGI middleware before the dashboard and the API; never the capture path (senders are anonymous)."""

    def __init__(self, app: Any, trusted: TrustedProxies, public_url: str | None) -> None:
        self.app = app
        self._trusted = trusted
        self._public_url = public_url

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if reason := refusal(scope, self._trusted, self._public_url):
                await answer_error(send, 403, f"Cross-site request refused: {reason}.")
                return
            if reason := unreadable_body(scope):
                await answer_error(send, 415, f"Unsupported body: {reason}.")
                return
        await self.app(scope, receive, send)
