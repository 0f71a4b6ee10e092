"""Every response ends properly: a live stream stopped at shutdown still gets its final chunk."""

from __future__ import annotations

from typing import Any

from inspector.metrics import ASGIApp


def finish_responses(app: ASGIApp) -> ASGIApp:
    """`app`, with the closing empty body sent for it if it returns mid-response.

    At shutdown sse-starlette stops its streams by returning without the last
    `http.response.body`: uvicorn then logs "ASGI callable returned without completing response"
    at error level for every open stream and resets the connection, so clients see a broken
    transfer instead of an end. Ending the body cleanly lets them reconnect (with Last-Event-ID)
    as after any end of a stream, and keeps a normal shutdown free of errors.
    """

    async def finished(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = ended = False

        async def tracked(message: Any) -> None:
            nonlocal started, ended
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                ended = True
            await send(message)

        await app(scope, receive, tracked)
        if started and not ended:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    return finished
