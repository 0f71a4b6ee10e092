"""What a bin answers: custom responses chosen by method and sub-path, safe body templates and CORS."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from inspector.bodies import parse_urlencoded
from inspector.exports import HOP_BY_HOP
from inspector.httpsyntax import TCHAR, TOKEN
from inspector.mediatypes import is_active_type
from inspector.pathglob import PathBits, compile_glob, count_wildcards

if TYPE_CHECKING:
    from inspector.models import CapturedRequest, Header

KiB = 1024

# Limits on what a user may configure; the API reports a breach as a validation message.
DEFAULT_MAX_DELAY_MS = 30_000
MAX_BODY_TEMPLATE = 64 * KiB
MAX_RULES = 50
MAX_HEADERS = 50
MAX_HEADER_VALUE = 8 * KiB
# A path pattern costs a few big-integer steps per character on a path-sized number: with these,
# 50 rules on a 48 KB path (the longest request line) take under 50 ms at worst. Real routes need
# a few wildcards and well under 256 characters.
MAX_PATH_PATTERN = 256
MAX_PATH_WILDCARDS = 16
MAX_VERIFY_TOKEN = 256
# The largest body a template may render to (UTF-8 bytes): a hostile request cannot inflate an answer.
MAX_RENDERED = 256 * KiB

# A body with no content type of its own is sent as this; an empty body gets no Content-Type.
DEFAULT_CONTENT_TYPE = "text/plain; charset=utf-8"
# Chromium caps a preflight's cache at 2 hours; promising more would only mislead.
PREFLIGHT_MAX_AGE = 7200
# A preflight's answer carries no body; the caller sends this status with cors_preflight_headers().
PREFLIGHT_STATUS = 204

# Sent with every answer a bin gives (custom, built-in, error): bins answer on the dashboard's
# origin, so a browser opening one runs it in an opaque origin without scripts, and never sniffs
# it into a script or stylesheet.
INERT_ANSWER = ((b"x-content-type-options", b"nosniff"), (b"content-security-policy", b"sandbox"))

# Statuses whose answers never carry content (RFC 9110 §15.3.5, §15.3.6, §15.4.5).
NO_CONTENT = frozenset({204, 205, 304})

# Control characters other than HTAB could split or smuggle headers.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MEDIA_TYPE = re.compile(rf"{TCHAR}+/{TCHAR}+(?:[ \t]*;.*)?")
_ORIGIN = re.compile(r"null|[A-Za-z][A-Za-z0-9+.\-]*://[A-Za-z0-9.\-_~%\[\]:]+")

# Response headers a bin may not set, with the reason the user is shown.
_REFUSED_HEADERS: dict[str, str] = {
    **{name: "is hop-by-hop: it describes one connection, which the server manages" for name in HOP_BY_HOP},
    "content-length": "is computed by the server from the body",
    "transfer-encoding": "is the server's to choose: it frames the body itself",
    "content-type": "is set with the content_type field",
    "date": "is set by the HTTP server",
    "x-content-type-options": "is always sent as nosniff",
    # Bins answer on the dashboard's own origin, so these would reach every page of the server.
    "set-cookie": "would apply to the whole server, not just this bin",
    "clear-site-data": "would apply to the whole server, not just this bin",
    "strict-transport-security": "would apply to the whole server, not just this bin",
}


# --- settings ---------------------------------------------------------------------------


class ResponseSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One answer a bin gives: status, headers in order, a body template and an optional delay."""

    status: int = 200
    # Sent in this order after the server's own headers; names are sent lowercased.
    headers: list[tuple[str, str]] = msgspec.field(default_factory=list)
    # A template (see render_body), sent as UTF-8.
    body: str = ""
    # None: DEFAULT_CONTENT_TYPE when the body is not empty, no Content-Type when it is.
    content_type: str | None = None
    delay_ms: int = 0


class ResponseRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Answer with `response` when a request's method and sub-path match.

    `method` is a method token matched case-insensitively ("get" matches GET; no sender uses
    lowercase tokens to mean something else), or None for any method. HEAD is its own method:
    a GET rule does not match it.
    `path` is a glob on the sub-path as sent (percent-encoding kept), or None for any: `*` is any
    run of characters within one segment, `?` one character within a segment, `**` anything,
    slashes included, and a trailing `/**` also matches the folder itself ("/hooks/**" matches
    "/hooks", "/hooks/" and "/hooks/a/b"). A request to the bin's root has the sub-path "/".
    """

    method: str | None = None
    path: str | None = None
    response: ResponseSpec


class ResponseSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A bin's answers: the first matching rule wins, then `default`; None means the built-in answer."""

    default: ResponseSpec | None = None
    rules: list[ResponseRule] = msgspec.field(default_factory=list)
    # Answer CORS preflights and add CORS headers, so browser pages can send to the bin.
    cors: bool = False
    # Answer providers' URL-verification challenges (inspector/handshakes.py) before any rule, so the
    # bin's URL can be registered with them. The capture is stored all the same.
    handshakes: bool = False
    # The verify token typed in Meta's App Dashboard: hub.challenge is echoed only when it matches.
    verify_token: str | None = None


def validate_spec(spec: ResponseSpec, *, max_delay_ms: int = DEFAULT_MAX_DELAY_MS, at: str = "") -> list[str]:
    """What is wrong with a response, one message each (none when it is valid); `at` prefixes them."""
    errors: list[str] = []
    where = f"{at}." if at else ""
    if not 200 <= spec.status <= 599:
        errors.append(f"{where}status: {spec.status} cannot be a final answer; use a status from 200 to 599.")
    if spec.status in NO_CONTENT and spec.body:
        errors.append(f"{where}body: a {spec.status} answer cannot have a body; leave it empty.")
    if len(spec.headers) > MAX_HEADERS:
        errors.append(f"{where}headers: {len(spec.headers)} headers is over the limit of {MAX_HEADERS}.")
    for i, (name, value) in enumerate(spec.headers):
        errors.extend(_header_errors(f"{where}headers[{i}]", name, value))
    if not _is_text(spec.body):
        errors.append(f"{where}body: the body is not valid text (it has an unpaired surrogate).")
    elif len(spec.body.encode()) > MAX_BODY_TEMPLATE:
        errors.append(
            f"{where}body: {len(spec.body.encode())} bytes is over the limit of {MAX_BODY_TEMPLATE} bytes."
        )
    if is_active_type(spec.content_type):
        errors.append(
            f"{where}content_type: {spec.content_type[:256]!r} is a script or stylesheet type, which "
            "a bin may not answer with: bins share the dashboard's origin. Use 'text/plain' or "
            "'application/octet-stream' to send such code as data."
        )
    elif spec.content_type is not None and not (
        len(spec.content_type) <= 256
        and _MEDIA_TYPE.fullmatch(spec.content_type)
        and not _CONTROL.search(spec.content_type)
        and _is_text(spec.content_type)
    ):
        errors.append(
            f"{where}content_type: {spec.content_type[:256]!r} is not a media type such as "
            "'application/json' or 'text/plain; charset=utf-8'."
        )
    if spec.delay_ms < 0:
        errors.append(f"{where}delay_ms: the delay cannot be negative.")
    elif spec.delay_ms > max_delay_ms:
        errors.append(
            f"{where}delay_ms: {spec.delay_ms} ms is over this server's maximum of {max_delay_ms} ms."
        )
    return errors


def validate_settings(
    settings: ResponseSettings, *, max_delay_ms: int = DEFAULT_MAX_DELAY_MS, max_rules: int = MAX_RULES
) -> list[str]:
    """What is wrong with a bin's response settings, one message each, prefixed with where it is."""
    errors: list[str] = []
    if settings.verify_token is not None and (
        not settings.verify_token
        or len(settings.verify_token) > MAX_VERIFY_TOKEN
        or _CONTROL.search(settings.verify_token)
    ):
        errors.append(
            f"verify_token: give 1 to {MAX_VERIFY_TOKEN} characters without control characters, or null."
        )
    if settings.default is not None:
        errors.extend(validate_spec(settings.default, max_delay_ms=max_delay_ms, at="default"))
    if len(settings.rules) > max_rules:
        errors.append(f"rules: {len(settings.rules)} rules is over the limit of {max_rules}.")
    for i, rule in enumerate(settings.rules):
        at = f"rules[{i}]"
        if rule.method is not None and not TOKEN.fullmatch(rule.method):
            errors.append(
                f"{at}.method: {rule.method[:64]!r} is not a method token such as 'POST'; "
                "use null for any method."
            )
        if rule.path is not None:
            if not rule.path.startswith("/"):
                errors.append(f"{at}.path: {rule.path[:64]!r} must start with '/', like '/orders/*'.")
            elif len(rule.path) > MAX_PATH_PATTERN:
                errors.append(f"{at}.path: the pattern is over {MAX_PATH_PATTERN} characters.")
            elif count_wildcards(rule.path) > MAX_PATH_WILDCARDS:
                errors.append(
                    f"{at}.path: the pattern has {count_wildcards(rule.path)} wildcards (*, ** or ?), "
                    f"over the limit of {MAX_PATH_WILDCARDS}."
                )
            elif _CONTROL.search(rule.path) or " " in rule.path or "\t" in rule.path:
                errors.append(f"{at}.path: the pattern cannot contain spaces or control characters.")
        errors.extend(validate_spec(rule.response, max_delay_ms=max_delay_ms, at=f"{at}.response"))
    return errors


def _header_errors(at: str, name: str, value: str) -> list[str]:
    if not TOKEN.fullmatch(name) or len(name) > 256:
        return [f"{at}: {name[:64]!r} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)."]
    reason = _REFUSED_HEADERS.get(name.lower())
    if reason is not None:
        return [f"{at}: {name} {reason}."]
    if _CONTROL.search(value):
        return [f"{at}: the value of {name} cannot contain CR, LF or other control characters."]
    if not _is_text(value):
        return [f"{at}: the value of {name} is not valid text (it has an unpaired surrogate)."]
    if len(value) > MAX_HEADER_VALUE:
        return [f"{at}: the value of {name} is over {MAX_HEADER_VALUE} characters."]
    return []


def _is_text(value: str) -> bool:
    """Whether a string can be sent as UTF-8 (JSON input may carry unpaired surrogates)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


# --- choosing an answer -------------------------------------------------------------------


def choose(settings: ResponseSettings, method: str, sub_path: str) -> ResponseSpec | None:
    """The answer for a request: the first matching rule's, else the default (None: the built-in one)."""
    # One set of the path's masks serves every rule.
    path = PathBits(sub_path or "/")
    upper = method.upper()
    for rule in settings.rules:
        if rule.method is not None and rule.method.upper() != upper:
            continue
        if rule.path is not None and not compile_glob(rule.path).matches(path):
            continue
        return rule.response
    return settings.default


# --- body templates -----------------------------------------------------------------------

# {{name}} or {{name.argument}}, spaces allowed inside the braces. Matched once, left to right:
# inserted values are never scanned again, so a value holding "{{method}}" stays as it is.
_PLACEHOLDER = re.compile(r"\{\{[ \t]*([a-z_]+)(?:\.([^{}\s]+))?[ \t]*\}\}")
# The most bytes one character can become once escaped ("\u001f", "&#x27;") or UTF-8 encoded.
_MAX_EXPANSION = 6


def render_body(
    template: str, request: CapturedRequest, *, content_type: str | None = None, limit: int = MAX_RENDERED
) -> str:
    """Fill a body template's placeholders from the captured request; nothing is ever evaluated.

    Placeholders (names lowercase, spaces inside the braces allowed):

    - `{{method}}`, `{{path}}` (as sent, without the query), `{{sub_path}}`, `{{query}}` (raw),
      `{{id}}` (the request id; 0 until stored), `{{bin_id}}`, `{{received_at}}` (ISO 8601, UTC),
      `{{body}}` (the body as UTF-8 text);
    - `{{query.NAME}}`: the first value of a query parameter, percent-decoded (NAME as decoded,
      case-sensitive);
    - `{{header.NAME}}`: the first value of a header, NAME case-insensitive;
    - `{{json.a.b.0.c}}`: a field of the body parsed as JSON (whatever its Content-Type); a number
      is an array index. A string field gives its text; any other value its JSON text, numbers
      exactly as sent. Keys holding dots or spaces cannot be reached.

    A known placeholder with nothing to give (a missing header, parameter or field; a body that
    is not JSON) becomes empty. Anything else in braces, such as `{{name}}` or `{{__class__}}`,
    is left as written, so a body may contain other template languages verbatim.

    Values are inserted as text, escaped for the answer's content type so a hostile request
    cannot break its structure: JSON types (application/json, *+json) get JSON string escaping
    without the quotes (write `"{{header.x-id}}"`); HTML and XML types get entity escaping;
    anything else is inserted as is. The result stays within `limit` UTF-8 bytes by cutting
    inserted values, never the template's own text.
    """
    if "{{" not in template:
        return template
    escape = _escaper(content_type)
    values = _Values(request)
    # The template's own text is never cut, so only what is left of the limit goes to values.
    budget = [limit - len(template.encode())]

    def substitute(match: re.Match[str]) -> str:
        value = values.get(match.group(1), match.group(2))
        if value is None:
            return match.group(0)
        if not value:
            return ""
        left = max(budget[0], 0)
        # No character takes less than a byte, so nothing past `left` characters can fit.
        text = escape(value[:left])
        size = _utf8_size(text)
        if size > left:
            # Escaping or UTF-8 made it grow: cut to what surely fits.
            text = escape(value[: left // _MAX_EXPANSION])
            size = _utf8_size(text)
        budget[0] -= size
        return text

    return _PLACEHOLDER.sub(substitute, template)


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())


def _escaper(content_type: str | None) -> Callable[[str], str]:
    media = (content_type or "").partition(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return _json_escape
    if media in ("text/html", "text/xml", "application/xml") or media.endswith("+xml"):
        return html.escape
    return str


def _json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


class _Raw(str):
    """A JSON number or constant with the exact text it was sent as (no float rounding)."""


_MISSING = object()
# Stands for a body that is not JSON: no path leads anywhere from it.
_MISSING_JSON = object()


class _Values:
    """Placeholder values for one request, each worked out only when a template asks for it."""

    def __init__(self, request: CapturedRequest) -> None:
        self._request = request
        self._json: Any = _MISSING
        self._query: list[tuple[str, str]] | None = None

    def get(self, name: str, argument: str | None) -> str | None:
        """The text for {{name.argument}}: "" when there is none, None when the placeholder is unknown."""
        r = self._request
        if argument is None:
            if name == "method":
                return _wire_text(r.method)
            if name == "path":
                return _wire_text(r.path)
            if name == "sub_path":
                return _wire_text(r.sub_path)
            if name == "query":
                return _wire_text(r.query)
            if name == "id":
                return str(r.id)
            if name == "bin_id":
                return r.bin_id
            if name == "received_at":
                return msgspec.json.encode(r.received_at).decode()[1:-1]
            if name == "body":
                return r.body.decode("utf-8", "replace")
            return None
        if name == "header":
            value = r.header(argument)
            return "" if value is None else _wire_text(value)
        if name == "query":
            if self._query is None:
                self._query = parse_urlencoded(_wire_bytes(r.query))
            return next((value for key, value in self._query if key == argument), "")
        if name == "json":
            return _utf8_safe(_json_field(self._parsed_json(), argument))
        return None

    def _parsed_json(self) -> Any:
        if self._json is _MISSING:
            try:
                self._json = json.loads(
                    self._request.body, parse_int=_Raw, parse_float=_Raw, parse_constant=_Raw
                )
            except (ValueError, RecursionError):
                self._json = _MISSING_JSON
        return self._json


def _json_field(document: Any, path: str) -> str:
    value = document
    for key in path.split("."):
        if isinstance(value, dict):
            value = value.get(key, _MISSING)
        elif isinstance(value, list) and key.isascii() and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return ""
        if value is _MISSING:
            return ""
    if isinstance(value, str) and not isinstance(value, _Raw):
        return value
    try:
        return _json_text(value)
    except RecursionError:
        return ""


def _json_text(value: Any) -> str:
    """Compact JSON for a parsed value, numbers in their original text."""
    if isinstance(value, _Raw):
        return str.__str__(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(_json_text(item) for item in value) + "]"
    items = (f"{json.dumps(key, ensure_ascii=False)}:{_json_text(item)}" for key, item in value.items())
    return "{" + ",".join(items) + "}"


def _utf8_safe(value: str) -> str:
    # JSON escapes can spell unpaired surrogates, which cannot be sent as UTF-8.
    return value if _is_text(value) else value.encode("utf-8", "replace").decode()


def _wire_bytes(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


def _wire_text(value: str) -> str:
    """Captured text holds the wire bytes as latin-1; senders mean UTF-8, so show it as that."""
    if value.isascii():
        return value
    return _wire_bytes(value).decode("utf-8", "replace")


# --- CORS -----------------------------------------------------------------------------------


def is_preflight(method: str, headers: Sequence[Header]) -> bool:
    """Whether a request is a browser's CORS preflight (OPTIONS with Origin and the method it asks for)."""
    return (
        method == "OPTIONS"
        and _first(headers, "origin") is not None
        and _first(headers, "access-control-request-method") is not None
    )


def cors_preflight_headers(headers: Sequence[Header]) -> list[tuple[bytes, bytes]]:
    """The headers answering a preflight (sent with PREFLIGHT_STATUS): whatever was asked is allowed.

    Credentials are not allowed: a bin answers on the dashboard's origin, and no sender needs
    the browser to attach that origin's cookies.
    """
    answer = [(b"access-control-allow-origin", _allowed_origin(headers))]
    method = _first(headers, "access-control-request-method")
    if method is not None and TOKEN.fullmatch(method.strip()):
        answer.append((b"access-control-allow-methods", method.strip().encode()))
    requested = _first(headers, "access-control-request-headers") or ""
    # A dict keeps the order asked for and drops repeats; names that are not tokens are left out.
    names = dict.fromkeys(part.strip().lower() for part in requested.split(","))
    names = {name: None for name in names if TOKEN.fullmatch(name)}
    if names:
        answer.append((b"access-control-allow-headers", ", ".join(names).encode()))
    answer.append((b"access-control-max-age", str(PREFLIGHT_MAX_AGE).encode()))
    # Chromium's Private Network Access asks before a public page may reach a server on localhost.
    if (_first(headers, "access-control-request-private-network") or "").strip().lower() == "true":
        answer.append((b"access-control-allow-private-network", b"true"))
    answer.append((b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"))
    return answer


def cors_headers(headers: Sequence[Header]) -> list[tuple[bytes, bytes]]:
    """The headers that let a browser page read a bin's answer: its origin allowed, every header exposed."""
    return [
        (b"access-control-allow-origin", _allowed_origin(headers)),
        (b"access-control-expose-headers", b"*"),
        (b"vary", b"Origin"),
    ]


def _allowed_origin(headers: Sequence[Header]) -> bytes:
    origin = (_first(headers, "origin") or "").strip()
    # Echo only what looks like an origin; anything else gets the wildcard, which is as permissive.
    return origin.encode() if _ORIGIN.fullmatch(origin) else b"*"


def _first(headers: Sequence[Header], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


# --- the answer ---------------------------------------------------------------------------


class Answer(NamedTuple):
    """An ASGI-ready answer; a named tuple so the caller can unpack it."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    delay_seconds: float


def build_answer(spec: ResponseSpec, request: CapturedRequest, *, cors: bool = False) -> Answer:
    """The exact answer to send for `spec`: its body rendered from `request`, framed and made safe.

    Headers, in order: Content-Type (when there is one; a script or stylesheet type stored before
    validation refused them is sent as DEFAULT_CONTENT_TYPE), Content-Length (not for 204 and 304),
    X-Content-Type-Options: nosniff and Content-Security-Policy: sandbox (bins answer on the
    dashboard's origin, so a custom HTML answer must not run script there), the spec's headers
    in order (names lowercased, values UTF-8 with surrounding blanks trimmed), then the CORS
    headers when `cors` is on. A HEAD request gets the headers a GET would, with no body.
    The caller waits `delay_seconds` before sending.
    """
    content_type = spec.content_type
    if is_active_type(content_type):
        # Validation refuses these now; an answer stored before that is still sent only as text.
        content_type = DEFAULT_CONTENT_TYPE
    body = b""
    if spec.status not in NO_CONTENT:
        body = render_body(spec.body, request, content_type=content_type).encode("utf-8", "replace")
        if content_type is None and body:
            content_type = DEFAULT_CONTENT_TYPE
    headers: list[tuple[bytes, bytes]] = []
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    if spec.status not in (204, 304):
        headers.append((b"content-length", str(len(body)).encode()))
    headers.extend(INERT_ANSWER)
    headers.extend((name.lower().encode(), value.strip(" \t").encode()) for name, value in spec.headers)
    if cors:
        headers.extend(cors_headers(request.headers))
    if request.method == "HEAD":
        body = b""
    return Answer(spec.status, headers, body, spec.delay_ms / 1000)
