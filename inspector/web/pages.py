"""The HTML pages of the dashboard, rendered on the server with Jinja2."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from inspector.proxies import public_base_url
from inspector.web.deps import SettingsDep


@get("/", include_in_schema=False)
async def home(request: Request[Any, Any, Any], settings: SettingsDep) -> Template:
    base = public_base_url(request.scope, settings.trusted_proxies, settings.public_url)
    return Template("home.html", context={"base_url": base})
