"""Media types a browser would run as script or apply as style: bin content is never served as one."""

from __future__ import annotations

# Every JavaScript MIME type essence of the WHATWG MIME Sniffing standard (section 4.6), and CSS.
# JSON and HTML are not here: JSON never runs, and HTML answers are sandboxed instead.
ACTIVE_TYPES = frozenset(
    {
        "application/ecmascript",
        "application/javascript",
        "application/x-ecmascript",
        "application/x-javascript",
        "text/ecmascript",
        "text/javascript",
        *(f"text/javascript1.{minor}" for minor in range(6)),
        "text/jscript",
        "text/livescript",
        "text/x-ecmascript",
        "text/x-javascript",
        "text/css",
    }
)


def is_active_type(content_type: str | None) -> bool:
    """Whether a browser could take a Content-Type value for a script or a stylesheet.

    Browsers read a value such as "text/plain, text/javascript" (headers joined by commas) as
    its last valid type, so every comma-separated part counts; each part's essence is its type
    before any ";", without surrounding whitespace, in any case.
    """
    if not content_type:
        return False
    return any(part.partition(";")[0].strip().lower() in ACTIVE_TYPES for part in content_type.split(","))
