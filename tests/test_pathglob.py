"""Path globs: exactly the answers of the regex translation they replaced, without its backtracking."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from inspector.pathglob import ANYTHING, SEGMENT, PathBits, PathGlob, compile_glob, count_wildcards, tokens


def regex_glob(pattern: str) -> re.Pattern[str]:
    """The translation responses.py used before: the semantics to keep (it backtracks on long paths)."""
    tail = ""
    if pattern.endswith("/**"):
        pattern, tail = pattern[:-3], "(?:/.*)?"
    pieces = []
    for part in re.split(r"(\*\*|\*|\?)", pattern):
        pieces.append({"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part) or re.escape(part))
    return re.compile("".join(pieces) + tail, re.DOTALL)


def test_every_short_pattern_agrees_with_the_regex_on_every_short_path() -> None:
    paths = ["".join(chars) for n in range(5) for chars in itertools.product("/ab", repeat=n)]
    checked = 0
    for n in range(6):
        for chars in itertools.product("/a*?", repeat=n):
            pattern = "".join(chars)
            expected, glob = regex_glob(pattern), PathGlob(pattern)
            for path in paths:
                assert glob.matches(path) is (expected.fullmatch(path) is not None), (pattern, path)
                checked += 1
    assert checked == 1365 * 121


def test_random_patterns_agree_with_the_regex() -> None:
    # Characters regexes treat specially, non-ASCII ones (latin-1 and beyond) and a newline.
    rng = random.Random(20251130)
    pattern_chars = ["/", "a", "*", "?", ".", "%2F", "é", "€", "("]
    path_chars = ["/", "a", ".", "%2F", "é", "€", "\n", "(", "x"]
    for _ in range(3000):
        pattern = "".join(rng.choice(pattern_chars) for _ in range(rng.randint(0, 10)))
        expected, glob = regex_glob(pattern), PathGlob(pattern)
        for _ in range(10):
            path = "".join(rng.choice(path_chars) for _ in range(rng.randint(0, 12)))
            assert glob.matches(path) is (expected.fullmatch(path) is not None), (pattern, path)


def test_runs_of_stars_are_one_wildcard() -> None:
    assert tokens("/a***b*c?") == ["/", "a", ANYTHING, "b", SEGMENT, "c", "?"]
    assert tokens("/*") == ["/", SEGMENT]
    assert count_wildcards("/orders/*/items/**") == 2
    assert count_wildcards("/" + "*" * 500) == 1
    assert count_wildcards("/v?/x?") == 2
    assert count_wildcards("/exact") == 0


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        # One set of masks serves patterns asking for different characters.
        ("/a/*", "/a/b", True),
        ("/*/b", "/a/b", True),
        ("/?/c", "/a/b", False),
        ("/**b", "/a/b", True),
    ],
)
def test_a_path_s_masks_are_shared_by_patterns(pattern: str, path: str, matches: bool) -> None:
    bits = PathBits("/a/b")
    assert compile_glob(pattern).matches(bits) is matches
    assert compile_glob(pattern).matches(path) is matches


def test_paths_beyond_latin1_match_too() -> None:
    # Capture hands over latin-1 text, but the matcher does not depend on it.
    assert compile_glob("/€/*").matches("/€/x€")
    assert not compile_glob("/€/?").matches("/€/x€")
    assert compile_glob("/**€").matches("/a/b€")
