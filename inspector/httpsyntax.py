"""RFC 9110's token, the syntax of a method and of a header name: the one definition of it."""

from __future__ import annotations

import re

# tchar (RFC 9110 §5.6.2): any visible ASCII character but the delimiters.
TCHAR = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
# A whole token (str), for fullmatch.
TOKEN = re.compile(f"{TCHAR}+")
# The run of tchars at a position in raw bytes, possibly empty: where a method token ends.
TCHARS = re.compile(f"{TCHAR}*".encode())
