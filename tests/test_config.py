"""Parsing of the values users give as flags or INSPECTOR_* variables."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from inspector.cli import settings_options
from inspector.config import Settings, format_size, parse_public_url, parse_size, registry, settings_table


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1048576", 1048576),
        ("512KiB", 524288),
        ("10MiB", 10485760),
        ("10mb", 10_000_000),
        ("1G", 10**9),
        ("0", 0),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "-5", "5 parsecs"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_format_size() -> None:
    assert [format_size(n) for n in (10485760, 65536, 1000)] == ["10 MiB", "64 KiB", "1000 bytes"]


def test_public_url() -> None:
    assert parse_public_url("https://hooks.example.com/") == "https://hooks.example.com"
    with pytest.raises(ValueError, match="public URL"):
        parse_public_url("hooks.example.com")
    assert Settings(public_url="http://a.example/base/").public_url == "http://a.example/base"


def test_settings_validate_choices() -> None:
    with pytest.raises(ValueError, match="http parser"):
        Settings(http_parser="llhttp")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("header_timeout_seconds", 0, "header timeout must be positive"),
        ("body_timeout_seconds", -1, "body timeout must be positive"),
        ("keep_alive_timeout_seconds", 0, "keep alive timeout must be positive"),
        ("max_streams_per_client", -1, "stream caps cannot be negative"),
    ],
)
def test_settings_validate_connection_limits(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**{field: value})


def test_hub_url_must_name_redis() -> None:
    for url in ("redis://127.0.0.1:6379/0", "rediss://cache.example:6380/1", "unix:///run/redis.sock"):
        assert Settings(hub_url=url).hub_url == url
    for url in ("http://127.0.0.1:6379", "127.0.0.1:6379", "redis://"):
        with pytest.raises(ValueError, match="hub URL must look like redis://"):
            Settings(hub_url=url)


def test_several_workers_need_the_shared_engines() -> None:
    with pytest.raises(ValueError, match="--database-url"):
        Settings(workers=2)
    with pytest.raises(ValueError, match="--hub-url"):
        Settings(workers=2, database_url="postgresql://u@h/db")
    with pytest.raises(ValueError, match="at least 1"):
        Settings(workers=0)
    assert Settings(workers=4, database_url="postgresql://u@h/db", hub_url="redis://h:6379/0").workers == 4


def test_the_readme_table_is_the_registry() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert settings_table() in readme, "the README's settings table is stale: run python -m inspector.config"


def test_every_setting_is_a_flag_and_a_variable() -> None:
    made: list[Settings] = []

    @click.command()
    @settings_options
    def command(**options: object) -> None:
        made.append(Settings(**{name: value for name, value in options.items() if value is not None}))

    env = {
        "INSPECTOR_PORT": "9001",
        "INSPECTOR_MAX_BODY_SIZE": "512KiB",
        "INSPECTOR_TRUSTED_PROXIES": "10.0.0.0/8 192.168.0.1",
        "INSPECTOR_PUBLIC": "true",
        "INSPECTOR_LOG_FORMAT": "json",
    }
    result = CliRunner().invoke(
        command, ["--allow-target", "a.example", "--allow-target", "b.example"], env=env
    )
    assert result.exit_code == 0, result.output
    settings = made[0]
    assert (settings.port, settings.max_body_size, settings.public, settings.log_format) == (
        9001,
        512 * 1024,
        True,
        "json",
    )
    assert "10.1.2.3" in settings.trusted_proxies and "192.168.0.1" in settings.trusted_proxies
    assert settings.allow_targets == ("a.example", "b.example")
    assert settings.db_path == Settings().db_path  # unset: the registry's computed default

    help_text = CliRunner().invoke(command, ["--help"], terminal_width=200).output
    for name, option, _ in registry():
        assert option.flag.split("/")[0] in help_text and option.envvar in help_text, name
    refused = CliRunner().invoke(command, ["--max-body-size", "lots"])
    assert refused.exit_code == 2 and "not a size" in refused.output
