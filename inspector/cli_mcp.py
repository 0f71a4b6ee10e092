"""`inspector mcp`: the MCP server over stdio, for coding assistants."""

from __future__ import annotations

import click


@click.command("mcp")
@click.option(
    "--server",
    "server_url",
    envvar="INSPECTOR_URL",
    default="http://127.0.0.1:8000",
    show_envvar=True,
    help="The Webhook Inspector server whose API the tools use.",
)
@click.option("--token", envvar="INSPECTOR_TOKEN", help="A bin token used when a tool call gives none.")
def mcp(server_url: str, token: str | None) -> None:
    """Serve MCP tools over stdio (create a bin, list and search, get, wait for the next request,
    verify a signature, replay). Needs the `mcp` package: pip install 'webhook-inspector[mcp]'."""
    try:
        import mcp as _sdk  # noqa: F401 - a clear message here rather than an import error mid-start

        from inspector.mcp_server import run
    except ImportError:
        raise click.ClickException(
            "inspector mcp needs the mcp package: pip install 'webhook-inspector[mcp]'"
        ) from None
    run(server_url.rstrip("/"), token)
