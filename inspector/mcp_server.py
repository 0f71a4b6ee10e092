"""`inspector mcp`: an MCP server over stdio (official `mcp` SDK) that lets coding assistants use bins.

It is a client of a running Webhook Inspector server (its HTTP API, through inspector.client), so it
can do what a developer does and nothing more. Credentials and signature headers are masked in what
it returns unless a tool is asked to reveal them.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from inspector.client import Bin, InspectorClient, InspectorError, Received

# Header names whose values authenticate someone or prove a signature: masked unless revealed.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-gitlab-token",
        "stripe-signature",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-slack-signature",
        "x-twilio-signature",
        "x-shopify-hmac-sha256",
        "webhook-signature",
        "svix-signature",
        "x-signature-ed25519",
        "x-zm-signature",
        "paddle-signature",
        "x-square-hmacsha256-signature",
        "linear-signature",
        "x-linear-signature",
        "x-twilio-email-event-webhook-signature",
        "x-mailgun-signature",
    }
)
# Any other header whose name says it carries one.
SECRET_WORDS = ("token", "secret", "signature", "password", "credential")


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_HEADERS or any(word in lowered for word in SECRET_WORDS)


def masked(value: str) -> str:
    return f"[masked: {len(value)} characters; ask with reveal_secrets=true]"


def record(found: Received, *, reveal_secrets: bool) -> dict[str, Any]:
    """A capture as the API gives it, with credential and signature header values masked."""
    data = msgspec.to_builtins(found)
    if not reveal_secrets:
        data["headers"] = [
            [name, masked(value) if is_secret_header(name) else value] for name, value in found.headers
        ]
    return data


def build_server(api: InspectorClient, default_token: str | None = None) -> Any:
    """The MCP server's tools, over one API client."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer(
        "webhook-inspector",
        instructions=(
            "Capture and inspect HTTP requests (webhooks). Create a bin, point a sender at its `url`, "
            "then list, search, get or wait for what it received; verify a signature; replay a capture."
        ),
    )

    def bin_of(bin: str, token: str | None) -> Bin:
        return api.bin(bin, token=token or default_token)

    def call(what: str, action: Any) -> Any:
        try:
            return action()
        except InspectorError as exc:
            # A ToolError's message reaches the assistant; other exceptions are hidden by the SDK.
            raise ToolError(f"{what}: {exc.detail} (HTTP {exc.status})") from None

    @server.tool()
    def create_bin(name: str | None = None, private: bool | None = None) -> dict[str, Any]:
        """Create a bin. Returns its `id`, the capture `url` to send requests to (any method, any
        sub-path) and, once, its owner `token` (needed for a private bin)."""
        made = call("create_bin", lambda: api.create_bin(name=name, private=private))
        return {"id": made.id, "url": made.url, "token": made.token}

    @server.tool()
    def list_requests(
        bin: str, filters: dict[str, str | list[str]] | None = None, limit: int = 20, token: str | None = None
    ) -> list[dict[str, Any]]:
        """A bin's captures, newest first, as summaries. `filters` are the API's query parameters:
        method, path (glob), q (body text), header (name:value), query (key:value), json
        (a.b.c:value), content_type, min_size, max_size, since, until, provider, event,
        signature (valid|invalid|unchecked), forward (delivered|failed|pending)."""
        params = [
            (name, item)
            for name, value in (filters or {}).items()
            for item in ([value] if isinstance(value, str) else value)
        ]
        found = call(
            "list_requests", lambda: bin_of(bin, token).summaries(params, limit=max(1, min(limit, 500)))
        )
        return found

    @server.tool()
    def get_request(
        bin: str, request_id: int, reveal_secrets: bool = False, token: str | None = None
    ) -> dict[str, Any]:
        """One capture in full: method, path, query, headers in order, body (text, or base64 as
        `body_encoding` says), provider, event, duplicate_of. Credential and signature headers are
        masked unless `reveal_secrets` is true."""
        found = call("get_request", lambda: bin_of(bin, token).get(request_id))
        return record(found, reveal_secrets=reveal_secrets)

    @server.tool()
    def wait_for_next(
        bin: str,
        after: int | None = None,
        timeout: float = 30,
        filters: dict[str, str | list[str]] | None = None,
        reveal_secrets: bool = False,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Wait up to `timeout` seconds (at most 300) for the first capture after request id `after`
        (default: one made from now on) that passes `filters` (as list_requests). Returns it in full
        (as get_request), or {"timed_out": true}."""
        params = [
            (name, item)
            for name, value in (filters or {}).items()
            for item in ([value] if isinstance(value, str) else value)
        ]
        wait = max(0.1, min(timeout, 300.0))
        found = call(
            "wait_for_next", lambda: bin_of(bin, token).next(after=after, timeout=wait, params=params)
        )
        return {"timed_out": True} if found is None else record(found, reveal_secrets=reveal_secrets)

    @server.tool()
    def verify_signature(
        bin: str,
        request_id: int,
        secret: str,
        provider: str = "auto",
        options: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Check a capture's webhook signature with a secret: the verdict (`valid`), the provider and
        the reason in words, with a diagnosis of what differs when it fails."""
        payload = {"provider": provider, "secret": secret, "options": options or {}}
        target = bin_of(bin, token)
        return call("verify_signature", lambda: target.post(f"/requests/{request_id}/verify", payload))

    @server.tool()
    def replay(bin: str, request_id: int, target: str, token: str | None = None) -> dict[str, Any]:
        """Send a capture again, byte for byte, to `target` (an http(s) URL the server's policy
        allows); returns the attempt: the request sent, the answer, the time taken, or the error."""
        chosen = bin_of(bin, token)
        return call("replay", lambda: chosen.post(f"/requests/{request_id}/replay", {"target": target}))

    return server


def run(server_url: str, token: str | None) -> None:
    """Serve the tools over stdio until the client closes the connection."""
    # One line per API call on stderr would drown what the assistant's host shows of the server.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with InspectorClient(server_url) as api:
        build_server(api, token).run("stdio")
