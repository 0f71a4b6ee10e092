"""`inspector wait`: block until a bin receives a matching capture, for shell scripts and CI."""

from __future__ import annotations

import sys

import click

# Exit statuses: found, nothing in time, and the call could not be made (bad URL, filter or server).
FOUND, TIMED_OUT, FAILED = 0, 1, 2


@click.command("wait")
@click.argument("bin_url")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, help="Seconds to wait.")
@click.option("--token", envvar="INSPECTOR_TOKEN", help="The bin's token, for a private bin.")
@click.option(
    "--after",
    type=click.IntRange(min=0),
    help="Wait for a capture after this request id (default: one made after the command starts).",
)
@click.option("--method", multiple=True, help="Method (repeatable: any of them).")
@click.option("--path", help="Sub-path glob, e.g. /orders/*.")
@click.option("--text", "q", help="Text in the body.")
@click.option("--header", multiple=True, help="NAME:VALUE, or NAME: for present (repeatable).")
@click.option("--query", multiple=True, help="KEY:VALUE of the query string (repeatable).")
@click.option("--json", "json_fields", multiple=True, help="A JSON field, a.b.c:VALUE (repeatable).")
@click.option("--content-type", help="Part of the Content-Type.")
@click.option("--provider", help="Detected provider, e.g. github, stripe.")
@click.option("--event", help="Detected event type, e.g. push, invoice.paid.")
@click.option("--min-size", type=click.IntRange(min=0), help="Smallest body size in bytes.")
@click.option("--max-size", type=click.IntRange(min=0), help="Largest body size in bytes.")
@click.option("--since", help="Received at or after this ISO 8601 time.")
@click.option("--until", help="Received at or before this ISO 8601 time.")
@click.option("--signature", type=click.Choice(["valid", "invalid", "unchecked"]))
@click.option("--forward", type=click.Choice(["delivered", "failed", "pending"]))
def wait(
    bin_url: str,
    timeout: float,
    token: str | None,
    after: int | None,
    method: tuple[str, ...],
    path: str | None,
    q: str | None,
    header: tuple[str, ...],
    query: tuple[str, ...],
    json_fields: tuple[str, ...],
    content_type: str | None,
    provider: str | None,
    event: str | None,
    min_size: int | None,
    max_size: int | None,
    since: str | None,
    until: str | None,
    signature: str | None,
    forward: str | None,
) -> None:
    """Wait for the next capture of BIN_URL that passes the filters, print it as JSON and exit 0.

    Exits 1 when none came within --timeout, 2 when the wait could not be made (bad URL, unknown
    bin, refused token, bad filter, server unreachable). Without --after, only captures made after
    the command starts count.
    """
    # The API's own parameters, as given (NAME:VALUE for header, query and json).
    repeated = [("method", method), ("header", header), ("query", query), ("json", json_fields)]
    single = [
        ("path", path),
        ("q", q),
        ("content_type", content_type),
        ("provider", provider),
        ("event", event),
        ("min_size", None if min_size is None else str(min_size)),
        ("max_size", None if max_size is None else str(max_size)),
        ("since", since),
        ("until", until),
        ("signature", signature),
        ("forward", forward),
    ]
    params = [(name, value) for name, values in repeated for value in values]
    params += [(name, value) for name, value in single if value is not None]
    # Imported here: the client brings the API's record type, which other commands never need.
    import httpx
    import msgspec

    from inspector.client import InspectorError, connect

    try:
        bin = connect(bin_url, token=token)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="BIN_URL") from None
    try:
        found = bin.next(after=after, timeout=timeout, params=params)
    except InspectorError as exc:
        click.echo(f"inspector wait: {exc.detail} ({exc.status})", err=True)
        sys.exit(FAILED)
    except httpx.HTTPError as exc:
        click.echo(f"inspector wait: cannot reach {bin.client.base_url}: {exc}", err=True)
        sys.exit(FAILED)
    finally:
        bin.client.close()
    if found is None:
        click.echo(f"inspector wait: no matching capture within {timeout:g} s", err=True)
        sys.exit(TIMED_OUT)
    click.echo(msgspec.json.encode(found).decode())
    sys.exit(FOUND)
