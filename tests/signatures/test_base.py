"""Shared helpers in inspector.signatures.base."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inspector.signatures import SignatureConfigError
from inspector.signatures.base import (
    b64decode_lenient,
    display,
    epoch,
    parse_pairs,
    parse_timestamp,
    same,
    seconds_option,
    skew_phrase,
)


def test_display_never_fails_on_bad_utf8() -> None:
    assert display(b"ok \xff") == "ok \\xff"


def test_same_compares_non_ascii_text() -> None:
    assert same("zoë", "zoë")
    assert not same("zoë", "zoe")


def test_b64decode_lenient_takes_urlsafe_and_missing_padding() -> None:
    assert b64decode_lenient("-_8") == b"\xfb\xff"
    assert b64decode_lenient("not base64!") is None


def test_parse_pairs_keeps_repeats() -> None:
    assert parse_pairs("t=1, v1=a,v1=b", ",") == [("t", "1"), ("v1", "a"), ("v1", "b")]


def test_parse_timestamp() -> None:
    assert parse_timestamp("1700000000") == 1700000000
    assert parse_timestamp("nan") is None
    assert parse_timestamp(None) is None


def test_epoch_takes_naive_datetimes_as_utc() -> None:
    assert epoch(datetime(1970, 1, 1, 0, 1)) == 60
    assert epoch(datetime(1970, 1, 1, 0, 1, tzinfo=UTC)) == 60


def test_seconds_option() -> None:
    assert seconds_option("tolerance", None, 300.0) == 300
    assert seconds_option("tolerance", "60", 300.0) == 60
    assert seconds_option("tolerance", 0, 300.0) is None
    with pytest.raises(SignatureConfigError):
        seconds_option("tolerance", -1, 300.0)
    with pytest.raises(SignatureConfigError):
        seconds_option("tolerance", True, 300.0)


def test_skew_phrase() -> None:
    assert skew_phrase(12, 300) == "12 s old, within the tolerance of 300 s"
    assert skew_phrase(-400, 300) == "400 s in the future, outside the tolerance of 300 s"
