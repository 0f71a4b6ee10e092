"""The OpenAPI document clients can trust: Litestar's, made exact where its generator cannot say enough."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.openapi.plugins import JsonRenderPlugin

BEARER = "bearer"

UNKNOWN_FIELDS = (
    "Unknown fields: request bodies with fields this API does not know are refused with 400 (their "
    "schemas say `additionalProperties: false`); answers may gain fields in later versions, so "
    "clients should ignore fields they do not know."
)

DESCRIPTION = (
    "Capture webhooks exactly, watch them live, replay them, check their signatures.\n\n"
    "Authentication: a bin's owner token (in the answer that created it) or its share token (read "
    "only), sent as `Authorization: Bearer TOKEN`. Open bins need none; a private bin answers 401 "
    "(with `WWW-Authenticate: Bearer`) without one and 403 to a token that may not do what was asked.\n\n"
    "Errors are JSON objects with `status_code` and `detail` (the schema `Error`).\n\n" + UNKNOWN_FIELDS
)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "What went wrong, in words meant for the person using the client.",
    "required": ["status_code", "detail"],
    "properties": {
        "status_code": {"type": "integer", "description": "The HTTP status, repeated"},
        "detail": {"type": "string", "description": "What went wrong and, where it helps, what to do"},
        "extra": {"description": "More about the error, when there is more (for example, which field)"},
    },
}

# Each error an operation can answer, with what it means here.
ERRORS = {
    "400": "Malformed request or a value out of range; `detail` says which.",
    "401": "The bin is private and no token came with the request.",
    "403": "The token may not do this (a share token only reads), or a browser sent the request from "
    "another site.",
    "404": "No such bin (or it expired), or no such request in it.",
    "409": "A bin with that name already exists.",
    "413": "The request body is larger than this server accepts.",
    "415": "The body is not JSON (Content-Type: application/json).",
    "429": "Over one of this server's limits; try again later.",
    "503": "The database cannot take writes right now; nothing was changed. Try again after Retry-After.",
}

SSE_DESCRIPTION = (
    "Server-Sent Events. `request` events carry a captured request as JSON (the schema RequestOut) "
    "with its id as the event id; `request_checked`, `request_forwarded`, `request_deleted`, "
    "`bin_cleared` and `bin_deleted` follow changes. Resume with Last-Event-ID or `after`."
)

BYTES_DESCRIPTION = (
    "The bytes exactly as captured, with their original Content-Type (application/octet-stream in "
    "place of a script or stylesheet type)."
)


# Handler names that make poor function names in a generated client.
RENAMED = {"json_events": "stream_requests"}


def operation_id(handler: Any, method: Any, path: Any) -> str:
    """Operation ids are the handlers' names (create_bin, list_requests): generated clients call
    their functions by them."""
    return RENAMED.get(handler.handler_name, handler.handler_name)


def _error(status: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": ERRORS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == "401":
        answer["headers"] = {
            "WWW-Authenticate": {"description": "Bearer: how to authenticate", "schema": {"type": "string"}}
        }
    if status == "503":
        answer["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again",
                "schema": {"type": "string"},
            }
        }
    return answer


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options"):
                yield path, method, operation


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema object inside `node`, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _fixed_length_arrays(node: dict[str, Any]) -> None:
    """Tuples (`prefixItems`, such as a header's [name, value]) as arrays of a fixed length.

    openapi-python-client and many other generators do not understand prefixItems; an array of
    strings with minItems = maxItems = 2 says the same in a form every tool reads.
    """
    for schema in list(_walk(node)):
        items = schema.get("prefixItems")
        if not isinstance(items, list) or not items:
            continue
        del schema["prefixItems"]
        distinct = [item for n, item in enumerate(items) if item not in items[:n]]
        schema["items"] = distinct[0] if len(distinct) == 1 else {"anyOf": distinct}
        schema["minItems"] = schema["maxItems"] = len(items)


def _closed_request_bodies(document: dict[str, Any]) -> None:
    """additionalProperties: false on every object a request body may contain (unknown fields get 400)."""
    schemas = document.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    pending = [op["requestBody"] for _, _, op in _operations(document) if "requestBody" in op]
    while pending:
        for schema in _walk(pending.pop()):
            ref = schema.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen and name in schemas:
                    seen.add(name)
                    pending.append(schemas[name])
            if schema.get("type") == "object" and "properties" in schema:
                schema["additionalProperties"] = False


def refine(original: dict[str, Any]) -> dict[str, Any]:
    """The document with what generated clients need: security, error schemas, exact media types."""
    document = copy.deepcopy(original)
    document.setdefault("info", {})["description"] = DESCRIPTION
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "A bin's owner token, or its share token for reading.",
        }
    }
    _fixed_length_arrays(document)
    _closed_request_bodies(document)
    for path, method, operation in _operations(document):
        if not path.startswith("/api/"):
            continue
        responses = operation.setdefault("responses", {})
        statuses = {"400", "503"}
        if "requestBody" in operation:
            statuses |= {"413", "415"}
        if method != "get":
            statuses.add("403")  # cross-site browser requests are refused
        if "{bin_id}" in path:
            statuses |= {"401", "403", "404"}
            # Open bins need no token; private ones need the owner's or a share token.
            operation["security"] = [{}, {BEARER: []}]
        if method == "post" and path == "/api/bins":
            statuses |= {"409", "429"}
            responses["201"].setdefault("headers", {})["Location"] = {
                "description": "The new bin's API URL",
                "schema": {"type": "string"},
            }
        if path.endswith("/stream"):
            statuses.add("429")
            responses["200"]["description"] = SSE_DESCRIPTION
            responses["200"]["content"] = {"text/event-stream": {"schema": {"type": "string"}}}
        if re.search(r"/(body|parts/\{index\})$", path):
            responses["200"]["description"] = BYTES_DESCRIPTION
            responses["200"]["content"] = {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            }
        for status in sorted(statuses):
            responses[status] = _error(status)
    return document


class ExactJsonRenderPlugin(JsonRenderPlugin):
    """Serves `refine`d documents at /api/schema/openapi.json, in place of Litestar's as generated."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, refine(openapi_schema))


SWAGGER_UI = "/static/vendor/swagger-ui"
DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Webhook Inspector API</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui-5.35.0.css">
</head>
<body>
<div id="api-docs"></div>
<script src="{SWAGGER_UI}/swagger-ui-bundle-5.35.0.js"></script>
<script src="/static/js/api-docs.js"></script>
</body>
</html>
"""


@get("/api/docs", include_in_schema=False, media_type=MediaType.HTML, cache=False)
async def api_docs() -> Response[str]:
    """The interactive API page: Swagger UI from vendored files (static/vendor/swagger-ui), no CDN."""
    return Response(DOCS_PAGE, media_type=MediaType.HTML)
