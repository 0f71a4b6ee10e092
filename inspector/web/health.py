"""Liveness and readiness: /healthz answers 200 only while the store answers queries and commits writes."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from inspector.store import StoreUnavailable
from inspector.web.deps import HubDep, StoreDep


def store_unavailable(request: Request[Any, Any, Any], exc: StoreUnavailable) -> Response[dict[str, Any]]:
    """A write the database could not take (disk full, I/O error, shutdown): 503, nothing changed."""
    detail = f"The server cannot store anything right now ({exc}); nothing was changed. Try again later."
    return Response({"status_code": 503, "detail": detail}, status_code=503, headers={"retry-after": "30"})


@get("/healthz", tags=["health"], summary="Health check", cache=False)
async def healthz(store: StoreDep, hub: HubDep) -> Response[dict[str, str]]:
    """Each engine's state. 503 when the store cannot read or write (captures would all fail); a hub
    that cannot deliver events is reported but stays 200, since captures are still stored and
    live views catch up from the store."""
    try:
        await store.ping()
    except Exception as exc:
        return Response({"status": "unavailable", "store": "unreadable", "detail": str(exc)}, status_code=503)
    try:
        await store.check_writes()
    except Exception as exc:
        # Reads still work (pages open), but captures would all be refused: not healthy.
        return Response(
            {"status": "unavailable", "store": "unable to write", "detail": str(exc)}, status_code=503
        )
    try:
        await hub.ping()
    except Exception as exc:
        return Response({"status": "degraded", "store": "ok", "hub": f"unreachable: {exc}"})
    return Response({"status": "ok", "store": "ok", "hub": "ok"})
