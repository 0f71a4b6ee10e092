"""The Jinja2 environment shared by pages and live fragments: autoescaped everywhere, strict about typos."""

from __future__ import annotations

from pathlib import Path

import jinja2


def human_size(size: int | None) -> str:
    if size is None:
        return "?"
    if size < 1024:
        return f"{size} B"
    for unit in ("KiB", "MiB", "GiB"):
        size_f = size / 1024
        if size_f < 1024 or unit == "GiB":
            return f"{size_f:.1f} {unit}"
        size = int(size_f)
    return f"{size} B"


def wire_text(data: bytes, limit: int = 256 * 1024) -> str:
    """Bytes as readable text: printable ASCII and line breaks as they are, anything else as \\xNN."""
    shown = data[:limit]
    text = "".join(
        chr(byte) if 32 <= byte < 127 or byte in (9, 10) else ("" if byte == 13 else f"\\x{byte:02x}")
        for byte in shown
    )
    if len(data) > limit:
        text += f"\n… {len(data) - limit} more bytes (download the body to see them)"
    return text


def create_environment(directory: Path) -> jinja2.Environment:
    # Captured data is hostile: autoescape every template, whatever its extension.
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
    )
    environment.filters["size"] = human_size
    environment.filters["wire"] = wire_text
    return environment
