"""Versioned schema migrations, one numbered SQL file each, per database."""

from __future__ import annotations

from importlib import resources


def scripts(dialect: str) -> list[tuple[int, str]]:
    """The migrations of one database (`sqlite`, `postgres`) as (version, SQL), oldest first."""
    folder = resources.files(__name__) / dialect
    found = [item for item in folder.iterdir() if item.name.endswith(".sql")]
    numbered = sorted((int(item.name.split("_", 1)[0]), item.read_text("utf-8")) for item in found)
    versions = [version for version, _ in numbered]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"{dialect} migrations must be numbered 1, 2, 3... without gaps: {versions}")
    return numbered
