"""Who may read or change a bin: private bins need the owner's token, or a share token for reading."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from inspector.bincache import BinCache
from inspector.bins import owner_cookie, share_cookie, token_matches
from inspector.models import Bin

OWNER = "owner"
READ = "read"
# For handlers that change a bin or act with its data: opt=OWNER_ONLY.
OWNER_ONLY = {"access": OWNER}
# Query parameters that carry a token: links for smee-client and share links for people.
TOKEN_PARAMETERS = ("token", "share")


def presented_tokens(connection: ASGIConnection[Any, Any, Any, Any], bin_id: str) -> list[str]:
    """Tokens a caller offers: Authorization: Bearer (API), the browser's cookies, ?token= or ?share=."""
    tokens = []
    authorization = connection.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        tokens.append(authorization[7:].strip())
    for name in (owner_cookie(bin_id), share_cookie(bin_id)):
        if value := connection.cookies.get(name):
            tokens.append(value)
    for name in TOKEN_PARAMETERS:
        if value := connection.query_params.get(name):
            tokens.append(value)
    return tokens


def allowed(bin: Bin, tokens: list[str], access: str) -> bool:
    if not bin.private:
        return True
    if any(token_matches(token, bin.owner_token_hash) for token in tokens):
        return True
    return access == READ and any(token_matches(token, bin.share_token_hash) for token in tokens)


async def bin_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Every route with a {bin_id} checks here; handlers mark what they do with opt={"access": ...}."""
    bin_id = connection.path_params.get("bin_id")
    if bin_id is None:
        return
    bins: BinCache = connection.app.state.bins
    bin = await bins.get(bin_id)
    if bin is None:
        return  # the handler answers 404
    access = handler.opt.get("access", READ)
    tokens = presented_tokens(connection, bin_id)
    if allowed(bin, tokens, access):
        return
    if not tokens:
        raise NotAuthorizedException(
            "This bin is private: send its token (Authorization: Bearer TOKEN), or open its share link."
        )
    what = "change" if access == OWNER else "read"
    raise PermissionDeniedException(f"That token may not {what} this bin.")
