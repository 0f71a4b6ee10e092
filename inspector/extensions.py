"""The ASGI scope extensions inspector.server's protocols offer the apps they serve."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

# A request's headers as received: names in their case, in order, repeats kept ([(name, value)] as
# bytes); the scope's own are lowercase, for the framework.
RAW_HEADERS = "inspector.raw_headers"
# On the httptools side, a whole answer in one write: `await respond(status, headers, body)`. It
# skips the checks ASGI's send makes of each header, so it takes only answers whose headers the app
# made itself (lowercase names, values of its own), never a bin's configured ones. A middleware that
# reads answers from send takes it out of the scope it passes on (logs.AccessLog does).
RESPOND = "inspector.respond"
Respond = Callable[[int, list[tuple[bytes, bytes]], bytes], Awaitable[None]]
