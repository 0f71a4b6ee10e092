"""Which Content-Type values a browser could take for a script or a stylesheet."""

from __future__ import annotations

import pytest

from inspector.mediatypes import ACTIVE_TYPES, is_active_type

# WHATWG MIME Sniffing, "JavaScript MIME type", listed here again so that a change to the set shows.
JAVASCRIPT = [
    "application/ecmascript",
    "application/javascript",
    "application/x-ecmascript",
    "application/x-javascript",
    "text/ecmascript",
    "text/javascript",
    "text/javascript1.0",
    "text/javascript1.1",
    "text/javascript1.2",
    "text/javascript1.3",
    "text/javascript1.4",
    "text/javascript1.5",
    "text/jscript",
    "text/livescript",
    "text/x-ecmascript",
    "text/x-javascript",
]


def test_the_set_is_every_javascript_type_and_css() -> None:
    assert {*JAVASCRIPT, "text/css"} == ACTIVE_TYPES


@pytest.mark.parametrize(
    "value",
    [
        *JAVASCRIPT,
        "text/css",
        "TEXT/CSS",
        " TEXT/CSS ",
        "\ttext/javascript\t",
        "Application/JavaScript; charset=utf-8",
        "application/ecmascript;charset=utf-8",
        "text/css ; charset=utf-8",
        # Headers joined by commas: a browser takes the last valid type.
        "text/plain, text/javascript",
        "text/javascript, text/plain",
        "text/plain; a=b, text/css",
    ],
)
def test_active(value: str) -> None:
    assert is_active_type(value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "application/json",
        "text/json",
        "text/html; charset=utf-8",
        "text/plain",
        "image/svg+xml",
        "application/octet-stream",
        "text/javascript2",
        "text/css2",
        "application/javascript+json",
        "text/plain; note=text/javascript",
        "xtext/css",
    ],
)
def test_inactive(value: str | None) -> None:
    assert not is_active_type(value)
