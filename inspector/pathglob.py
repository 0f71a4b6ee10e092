"""Path globs of response rules, matched in time linear in the path: no pattern can stall the server."""

from __future__ import annotations

import functools

# Wildcard tokens; any other token is one literal character.
ONE = "?"  # one character other than "/"
SEGMENT = "*"  # any run of characters other than "/"
ANYTHING = "**"  # any run of characters, slashes included
WILDCARDS = (ONE, SEGMENT, ANYTHING)

_ZERO_ONE = bytes.maketrans(bytes(range(256)), b"0" * 256)


def tokens(pattern: str) -> list[str]:
    """The pattern as tokens, each run of stars as one token: ANYTHING when it holds `**`.

    `*` next to `**` adds nothing (`[^/]*.*` is `.*`), so runs collapse without changing what
    matches, and a pattern of a thousand stars costs one step.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        end = i
        while end < len(pattern) and pattern[end] == "*":
            end += 1
        if end > i:
            out.append(ANYTHING if end - i >= 2 else SEGMENT)
            i = end
        else:
            out.append(pattern[i])
            i += 1
    return out


def count_wildcards(pattern: str) -> int:
    """How many wildcards a pattern has, a run of stars counting once."""
    return sum(1 for token in tokens(pattern) if token in WILDCARDS)


class PathBits:
    """One path's characters as bit masks over its positions (bit j: the character at j), made on demand.

    Built once per request and shared by every rule, so each mask is made at most once.
    """

    __slots__ = ("_data", "_masks", "_not_slash", "size", "text")

    def __init__(self, path: str) -> None:
        self.text = path
        self.size = len(path)
        self._masks: dict[str, int] = {}
        self._not_slash: int | None = None
        # Captured paths hold wire bytes as latin-1, so this almost always works; reversed, so that
        # the first character becomes the lowest bit once read as a binary number.
        try:
            self._data: bytes | None = path.encode("latin-1")[::-1]
        except UnicodeEncodeError:
            self._data = None

    def where(self, char: str) -> int:
        """The positions holding `char`."""
        mask = self._masks.get(char)
        if mask is None:
            mask = self._masks[char] = self._positions(char)
        return mask

    def not_slash(self) -> int:
        """The positions holding anything but "/"."""
        if self._not_slash is None:
            self._not_slash = ((1 << self.size) - 1) ^ self.where("/")
        return self._not_slash

    def _positions(self, char: str) -> int:
        if self._data is not None:
            # bytes.translate and int(..., 2) run in C: a mask of a 48 KB path takes microseconds.
            if ord(char) > 0xFF:
                return 0
            table = bytearray(_ZERO_ONE)
            table[ord(char)] = ord("1")
            return int(self._data.translate(table) or b"0", 2)
        return int("".join("1" if c == char else "0" for c in reversed(self.text)) or "0", 2)


class PathGlob:
    """A compiled glob: `*` is any run within one segment, `?` one character within a segment,
    `**` anything (slashes included), and a trailing `/**` also matches the folder itself.

    Matching keeps the set of path positions the pattern so far can end at, as the bits of one
    integer, and moves the whole set one token at a time: a few integer operations per token, each
    linear in the path's length, never any backtracking. The regex this replaces took seconds on
    `/**/**/**/**/**/**/x` against a path of a hundred slashes.
    """

    __slots__ = ("_folder", "_prefix", "_suffix", "_tokens")

    def __init__(self, pattern: str) -> None:
        self._folder = pattern.endswith("/**")
        if self._folder:
            pattern = pattern[:-3]
        self._tokens = tokens(pattern)
        # Every match starts with the literal text before the first wildcard and ends with the
        # text after the last one (a folder pattern may end anywhere): most paths fail here.
        literal = [token not in WILDCARDS for token in self._tokens]
        head = literal.index(False) if False in literal else len(literal)
        tail = literal[::-1].index(False) if False in literal else 0
        self._prefix = "".join(self._tokens[:head])
        self._suffix = "" if self._folder else "".join(self._tokens[len(self._tokens) - tail :])

    def matches(self, path: PathBits | str) -> bool:
        """Whether the whole of `path` matches."""
        bits = path if isinstance(path, PathBits) else PathBits(path)
        text = bits.text
        if not text.startswith(self._prefix) or not text.endswith(self._suffix):
            return False
        if len(self._prefix) == len(self._tokens) and not self._folder:
            return text == self._prefix
        end = 1 << bits.size
        # Bit j set: the tokens so far match the path's first j characters.
        state = self._advance(1, self._tokens, bits)
        if state & end:
            return True
        if not self._folder or not state:
            return False
        # "/hooks/**" also matches "/hooks/" and everything under it.
        return bool(self._advance(state, ["/", ANYTHING], bits) & end)

    @staticmethod
    def _advance(state: int, items: list[str], bits: PathBits) -> int:
        for token in items:
            if token == ANYTHING:
                # Every position from the earliest one reached on.
                state = ((1 << (bits.size + 1)) - 1) ^ ((state & -state) - 1)
            elif token == SEGMENT:
                # Adding the reached positions to the non-slash mask carries each one up through
                # its run of non-slash characters, to the next "/" or the end: all reachable.
                free = bits.not_slash()
                moving = state & free
                state |= (free + moving) ^ free
            elif token == ONE:
                state = (state & bits.not_slash()) << 1
            else:
                state = (state & bits.where(token)) << 1
            if not state:
                return 0
        return state


@functools.lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> PathGlob:
    """The compiled glob for a pattern, kept: rules are matched on every capture."""
    return PathGlob(pattern)
