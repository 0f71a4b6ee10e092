"""Liveness and readiness: /healthz answers 200 only while the store answers queries."""

from __future__ import annotations

from litestar import Response, get

from inspector.web.deps import StoreDep


@get("/healthz", tags=["health"], summary="Health check", cache=False)
async def healthz(store: StoreDep) -> Response[dict[str, str]]:
    try:
        await store.ping()
    except Exception as exc:
        return Response({"status": "unavailable", "detail": f"store: {exc}"}, status_code=503)
    return Response({"status": "ok"})
