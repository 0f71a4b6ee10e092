"""Bins an operator declares in a TOML file (demos, CI): created or updated at start-up, never expiring."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from inspector.bins import check_bin_name, token_hash
from inspector.models import Bin
from inspector.responses import ResponseSettings, validate_settings
from inspector.store import Store

# "Never" for a bin: far enough, and still a valid timestamp everywhere.
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


class FixedBin(msgspec.Struct, forbid_unknown_fields=True):
    """One [[bins]] table of the file."""

    name: str
    private: bool = False
    # The owner token for a private bin; choose a long random one.
    token: str | None = None
    max_requests: int | None = None
    forward_targets: list[str] = msgspec.field(default_factory=list)
    response: ResponseSettings | None = None


def load(path: Path, *, max_delay_ms: int) -> list[FixedBin]:
    """Read and check the file; ValueError says what is wrong and where."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
        bins = msgspec.convert(data.get("bins", []), list[FixedBin])
    except (OSError, tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    for n, fixed in enumerate(bins):
        problems = [check_bin_name(fixed.name)] if check_bin_name(fixed.name) else []
        if fixed.private and not fixed.token:
            problems.append("a private bin needs a token")
        if fixed.response:
            problems += validate_settings(fixed.response, max_delay_ms=max_delay_ms)
        if problems:
            raise ValueError(f"{path}: bins[{n}] ({fixed.name}): {'; '.join(problems)}")
    return bins


async def ensure(store: Store, bins: list[FixedBin]) -> None:
    """Make the store match the file: missing bins are created, existing ones take its settings.

    An upsert, so that several processes starting together with the same file all succeed.
    """
    for fixed in bins:
        existing = await store.get_bin(fixed.name)
        await store.upsert_bin(
            Bin(
                id=fixed.name,
                created_at=datetime.now(UTC),
                expires_at=NEVER,
                response=fixed.response,
                max_requests=fixed.max_requests,
                private=fixed.private,
                owner_token_hash=token_hash(fixed.token) if fixed.token else None,
                fixed=True,
            )
        )
        if fixed.forward_targets != (existing.forward_targets if existing else []):
            await store.set_forward_targets(fixed.name, fixed.forward_targets)
