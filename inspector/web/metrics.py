"""GET /metrics: Prometheus's text format, behind a bearer token when the operator sets one."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get

from inspector.web.deps import SettingsDep, StoreDep

# The text format every Prometheus reads (Litestar adds the charset, utf-8).
CONTENT_TYPE = "text/plain; version=0.0.4"


def _bearer(request: Request[Any, Any, Any]) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


@get("/metrics", include_in_schema=False, cache=False)
async def metrics(request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep) -> Response[Any]:
    """Counters, histograms and gauges of this process (inspector.metrics)."""
    token = settings.metrics_token
    if token:
        given = _bearer(request)
        # compare_digest: how long the comparison takes says nothing about the token.
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            return Response(
                {
                    "status_code": 401,
                    "detail": "Metrics need 'Authorization: Bearer' with the metrics token.",
                },
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="metrics"'},
            )
    state = request.app.state
    body = await state.metrics.render(store, state.streams.open)
    return Response(body, media_type=CONTENT_TYPE)
