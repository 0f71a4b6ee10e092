"""How a captured body is shown: content decoding, kind detection and a view per kind."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes
from xml.dom import Node
from xml.parsers.expat import ExpatError

import brotli
import msgspec
import multipart
import zstandard
from defusedxml import DefusedXmlException
from defusedxml.minidom import parseString as parse_xml_safely

if TYPE_CHECKING:
    from xml.dom.minidom import Element

    from inspector.models import CapturedRequest, Header

MiB = 1024 * 1024


class BodyKind(StrEnum):
    """How the dashboard shows a body; a StrEnum, so templates can compare with plain strings."""

    EMPTY = "empty"
    JSON = "json"
    FORM = "form"
    MULTIPART = "multipart"
    XML = "xml"
    TEXT = "text"
    IMAGE = "image"
    BINARY = "binary"


# The most of one body that a page renders in any one place (text view, editor, cURL, Raw).
SHOWN_BYTES = 256 * 1024


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """Bounds on the work done to show one body, so a hostile body cannot exhaust the server."""

    # Bytes kept after undoing Content-Encoding (the decompression-bomb guard).
    decoded: int = 16 * MiB
    # JSON and XML above this are shown as received, not parsed and pretty-printed.
    pretty: int = 1 * MiB
    # Bytes of a body shown as text on a page: a 10 MiB body must not make a 100 MB page.
    shown: int = SHOWN_BYTES
    # Highlight tokens are dropped above this many (the pretty text is still given).
    tokens: int = 200_000
    # Rows of 16 bytes in a hex dump.
    hex_rows: int = 256
    # Characters of text preview for each multipart part.
    preview: int = 64 * 1024
    # Form fields and multipart parts listed.
    fields: int = 10_000
    parts: int = 1_000


class HexRow(msgspec.Struct, frozen=True):
    """One line of a hex dump: 16 bytes as hex (padded to a fixed width) and as ASCII."""

    offset: int
    hex: str
    ascii: str

    @property
    def offset_hex(self) -> str:
        return f"{self.offset:08x}"


class BodyPart(msgspec.Struct, frozen=True, kw_only=True):
    """One part of a multipart body."""

    # As the parser gives them: names in Title-Case, in order, duplicates kept.
    headers: tuple[Header, ...]
    name: str | None
    filename: str | None
    # The part's Content-Type without parameters, lowercased; None when the part has none.
    content_type: str | None
    size: int
    # The part's exact bytes, for download.
    data: bytes
    # Set for parts that are text; None for binary parts.
    text: str | None = None
    text_valid: bool = False
    text_truncated: bool = False
    # False when the stream ended inside this part.
    complete: bool = True


class BodyView(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a template needs to show a body; plain data, no markup."""

    kind: BodyKind
    # The declared Content-Type without parameters (lowercased) and its charset, as sent.
    media_type: str | None = None
    charset: str | None = None
    # True when the kind came from the bytes because the Content-Type was missing or wrong.
    sniffed: bool = False
    # Content-Encoding codings in the order the sender applied them.
    content_encodings: tuple[str, ...] = ()
    # True when every coding was undone, so the views below show the decoded bytes.
    decoded: bool = True
    # True when decoding stopped at Limits.decoded.
    truncated: bool = False
    raw_size: int = 0
    decoded_size: int = 0
    # Human-readable remarks: decode failures, sniffing, limits hit.
    notes: tuple[str, ...] = ()
    # Why the body could not be parsed as the kind it claimed (then it is shown as text or binary).
    parse_error: str | None = None
    invalid_json: bool = False
    # json/xml: the pretty-printed text; text and form: the decoded text.
    text: str | None = None
    # True when `text` shows only the first Limits.shown bytes of the body.
    text_cut: bool = False
    text_charset: str | None = None
    text_valid: bool | None = None
    # json: (kind, text) pairs whose texts join to `text`; kinds are key, string, number,
    # bool, null, punct and whitespace.
    json_tokens: tuple[tuple[str, str], ...] | None = None
    # form: (name, value) pairs in order, duplicates kept.
    form: tuple[tuple[str, str], ...] | None = None
    parts: tuple[BodyPart, ...] | None = None
    # binary: the first Limits.hex_rows rows, and how many bytes were left out.
    hex_rows: tuple[HexRow, ...] | None = None
    hex_more: int = 0
    # image: the media type read from the bytes (png, jpeg, gif or webp, never svg).
    image_type: str | None = None
    # SVG can carry script, so it is shown as XML text and never as an image.
    is_svg: bool = False


# --- entry points ---------------------------------------------------------------------


def describe(request: CapturedRequest, limits: Limits | None = None) -> BodyView:
    """Describe a captured request's body for display."""
    return describe_body(request.headers, request.body, limits)


def describe_body(headers: Sequence[Header], body: bytes, limits: Limits | None = None) -> BodyView:
    """Describe a body sent with these headers (names matched case-insensitively)."""
    limits = limits or Limits()
    media_type, params = parse_content_type(_first_header(headers, "content-type"))
    charset = params.get("charset") or None
    codings = content_codings(headers)
    content = decode_content(body, codings, limits.decoded)
    data = content.data
    base = BodyView(
        kind=BodyKind.EMPTY,
        media_type=media_type,
        charset=charset,
        content_encodings=tuple(codings),
        decoded=content.complete,
        truncated=content.truncated,
        raw_size=len(body),
        decoded_size=len(data),
        notes=tuple(content.notes),
    )
    if not data:
        return base
    choice = choose_kind(media_type, data)
    view = msgspec.structs.replace(
        base, sniffed=choice.sniffed, is_svg=choice.is_svg, notes=base.notes + choice.notes
    )
    match choice.kind:
        case BodyKind.JSON:
            return _json_view(view, data, charset, limits, strict=not choice.sniffed)
        case BodyKind.XML:
            return _xml_view(view, data, charset, limits, strict=not choice.sniffed)
        case BodyKind.FORM:
            return _form_view(view, data, charset, limits)
        case BodyKind.MULTIPART:
            return _multipart_view(view, data, params.get("boundary"), charset, limits)
        case BodyKind.IMAGE:
            return msgspec.structs.replace(view, kind=BodyKind.IMAGE, image_type=image_type(data))
        case BodyKind.BINARY:
            return _binary_view(view, data, limits)
        case _:
            return _text_view(view, data, charset, limits)


# --- headers --------------------------------------------------------------------------


def _first_header(headers: Sequence[Header], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def parse_content_type(value: str | None) -> tuple[str | None, dict[str, str]]:
    """The media type (lowercased, no parameters) and the parameters of a Content-Type value."""
    if value is None:
        return None, {}
    # multipart's parser copes with quoted parameters such as boundary="a;b".
    media_type, params = multipart.parse_options_header(value)
    return media_type or None, params


def content_codings(headers: Sequence[Header]) -> list[str]:
    """Content-Encoding codings in the order they were applied, across repeated headers."""
    codings = []
    for key, value in headers:
        if key.lower() == "content-encoding":
            codings += [c.strip().lower() for c in value.split(",")]
    return [c for c in codings if c and c != "identity"]


# --- content decoding -----------------------------------------------------------------


class ContentDecoding(msgspec.Struct, frozen=True):
    """The bytes to show after undoing Content-Encoding, and how that went."""

    data: bytes
    complete: bool
    truncated: bool
    notes: list[str]


class _Stage(msgspec.Struct, frozen=True):
    data: bytes
    truncated: bool = False
    # False when the compressed stream ended before its end marker.
    finished: bool = True
    note: str | None = None


def decode_content(body: bytes, codings: Sequence[str], max_size: int) -> ContentDecoding:
    """Undo the codings for display, keeping at most max_size bytes; `body` itself is never changed."""
    data, notes, truncated = body, [], False
    # The last coding listed was applied last, so it is undone first.
    for coding in reversed(codings):
        decoder = _DECODERS.get(coding)
        if decoder is None:
            notes.append(f"Content-Encoding {coding!r} is not supported; showing the body as received.")
            return ContentDecoding(body, False, False, notes)
        try:
            stage = decoder(data, max_size)
        except (zlib.error, brotli.error, zstandard.ZstdError) as exc:
            notes.append(f"Could not decode {coding}: {exc}; showing the body as received.")
            return ContentDecoding(body, False, False, notes)
        if stage.note:
            notes.append(stage.note)
        # A stage fed truncated input cannot finish, and that is not the sender's fault.
        if not stage.finished and not truncated and not stage.truncated:
            notes.append(f"The {coding} stream ends early; showing what it decodes to.")
        truncated = truncated or stage.truncated
        data = stage.data
    if truncated:
        notes.append(f"Decoded body truncated at {max_size} bytes.")
    return ContentDecoding(data, True, truncated, notes)


def _zlib_stream(data: bytes, max_size: int, wbits: int) -> tuple[bytes, bool, bool, bytes]:
    """Inflate one stream; returns (output, truncated, finished, bytes after the stream)."""
    inflater = zlib.decompressobj(wbits=wbits)
    # max_length bounds the output, which is what stops a decompression bomb.
    out = inflater.decompress(data, max_size + 1)
    if len(out) > max_size:
        return out[:max_size], True, False, b""
    return out, False, inflater.eof, inflater.unused_data


def _gunzip(data: bytes, max_size: int) -> _Stage:
    out, rest = b"", data
    # A gzip body may hold several members one after another; each is decoded in turn.
    while True:
        chunk, truncated, finished, rest = _zlib_stream(rest, max_size - len(out), wbits=31)
        out += chunk
        if truncated or not finished:
            return _Stage(out, truncated, finished)
        if not rest.strip(b"\0"):
            return _Stage(out)


def _inflate(data: bytes, max_size: int) -> _Stage:
    try:
        out, truncated, finished, _ = _zlib_stream(data, max_size, wbits=15)
        return _Stage(out, truncated, finished)
    except zlib.error:
        # Many servers send raw DEFLATE without the zlib wrapper RFC 9110 asks for.
        out, truncated, finished, _ = _zlib_stream(data, max_size, wbits=-15)
        return _Stage(out, truncated, finished, "deflate body is raw DEFLATE (no zlib header).")


def _unbrotli(data: bytes, max_size: int) -> _Stage:
    decompressor = brotli.Decompressor()
    # output_buffer_limit (brotli >= 1.2) is a soft bound, so the result is cut to size below.
    out = decompressor.process(data, output_buffer_limit=max_size + 1)
    while len(out) <= max_size and not decompressor.is_finished():
        if decompressor.can_accept_more_data():
            break  # all input used, stream incomplete
        out += decompressor.process(b"", output_buffer_limit=max_size + 1 - len(out))
    if len(out) > max_size:
        return _Stage(out[:max_size], truncated=True, finished=False)
    return _Stage(out, finished=decompressor.is_finished())


def _unzstd(data: bytes, max_size: int) -> _Stage:
    # RFC 9659 caps the window for HTTP at 8 MiB; a larger one is refused rather than allocated.
    decompressor = zstandard.ZstdDecompressor(max_window_size=8 * MiB)
    reader = decompressor.stream_reader(data, read_across_frames=True)
    out = b""
    while len(out) <= max_size:
        chunk = reader.read(max_size + 1 - len(out))
        if not chunk:
            break
        out += chunk
    if len(out) > max_size:
        return _Stage(out[:max_size], truncated=True, finished=False)
    return _Stage(out)


_DECODERS: dict[str, Callable[[bytes, int], _Stage]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate,
    "br": _unbrotli,
    "zstd": _unzstd,
}


# --- kind detection -------------------------------------------------------------------

_SNIFF_BYTES = 4096
_JSON_TYPES = {"application/json", "text/json", "application/x-json"}
_XML_TYPES = {"application/xml", "text/xml"}
_IMAGE_TYPES = {"image/png", "image/jpeg", "image/jpg", "image/pjpeg", "image/gif", "image/webp"}
_FORM_TYPE = "application/x-www-form-urlencoded"
_SVG_TYPE = "image/svg+xml"
_FORM_FIELD = rb"[A-Za-z0-9._~%+*\-\[\]]+(?:=[^&\s]*)?"
_FORM_BODY = re.compile(rb"(?=[^&]*=)%s(?:&%s)*&?" % (_FORM_FIELD, _FORM_FIELD))
_SVG_ROOT = re.compile(rb"<svg[\s>/]", re.IGNORECASE)
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)
_XML_START = re.compile(rb"<(?:\?xml[\s?]|!--|!DOCTYPE\s|[A-Za-z_][\w.:-]*[\s/>])")


class KindChoice(msgspec.Struct, frozen=True):
    kind: BodyKind
    sniffed: bool = False
    is_svg: bool = False
    notes: tuple[str, ...] = ()


def declared_kind(media_type: str | None) -> BodyKind | None:
    """The kind a media type stands for, or None when only the bytes can tell."""
    if not media_type:
        return None
    if media_type == _SVG_TYPE:
        return BodyKind.XML
    if media_type in _JSON_TYPES or media_type.endswith("+json"):
        return BodyKind.JSON
    if media_type == _FORM_TYPE:
        return BodyKind.FORM
    if media_type.startswith("multipart/"):
        return BodyKind.MULTIPART
    if media_type in _XML_TYPES or media_type.endswith("+xml"):
        return BodyKind.XML
    if media_type in _IMAGE_TYPES:
        return BodyKind.IMAGE
    # text/plain is sniffed too: senders such as AWS SNS post JSON as text/plain.
    if media_type.startswith("text/") and media_type != "text/plain":
        return BodyKind.TEXT
    return None


def choose_kind(media_type: str | None, data: bytes) -> KindChoice:
    """Pick the kind from the Content-Type, looking at the bytes when it is missing or lies."""
    kind = declared_kind(media_type)
    is_svg = media_type == _SVG_TYPE or _is_svg(data)
    if is_svg:
        note = "SVG is shown as XML text and never inlined as an image: it can carry script."
        return KindChoice(BodyKind.XML, sniffed=kind is not BodyKind.XML, is_svg=True, notes=(note,))
    if kind is BodyKind.IMAGE:
        actual = image_type(data)
        if actual is None:
            sniffed = sniff_kind(data, allow_form=False)
            note = f"Content-Type says {media_type} but the bytes are not an image of a known type."
            return KindChoice(sniffed, sniffed=True, notes=(note,))
        if actual != media_type:
            note = f"Content-Type says {media_type} but the bytes are {actual}."
            return KindChoice(BodyKind.IMAGE, sniffed=True, notes=(note,))
        return KindChoice(BodyKind.IMAGE)
    if kind is BodyKind.FORM and _looks_like_json(data):
        note = f"Content-Type says {media_type} but the body is JSON."
        return KindChoice(BodyKind.JSON, sniffed=True, notes=(note,))
    if kind is not None:
        return KindChoice(kind)
    sniffed = sniff_kind(data, allow_form=media_type is None)
    notes: tuple[str, ...] = ()
    if media_type == "text/plain" and sniffed in (BodyKind.JSON, BodyKind.XML):
        notes = (f"Content-Type says text/plain; shown as {sniffed.value.upper()} from its content.",)
    return KindChoice(sniffed, sniffed=True, notes=notes)


def sniff_kind(data: bytes, *, allow_form: bool = True) -> BodyKind:
    """Guess the kind from the bytes alone; JSON and XML guesses fall back to text if they do not parse."""
    if not data:
        return BodyKind.EMPTY
    if image_type(data):
        return BodyKind.IMAGE
    head = data[:_SNIFF_BYTES]
    if head[:2] in _BOMS:
        return BodyKind.TEXT
    if looks_binary(head):
        return BodyKind.BINARY
    start = head.removeprefix(_UTF8_BOM).lstrip(b" \t\r\n")
    if start[:1] in (b"{", b"["):
        return BodyKind.JSON
    if _is_svg(head):
        return BodyKind.XML
    if _XML_START.match(start) and not _HTML_START.match(start):
        return BodyKind.XML
    if allow_form and _FORM_BODY.fullmatch(data):
        return BodyKind.FORM
    return BodyKind.TEXT


def image_type(data: bytes) -> str | None:
    """The media type of a PNG, JPEG, GIF or WebP image from its magic bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _is_svg(data: bytes) -> bool:
    head = data[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return False
    match = _SVG_ROOT.search(head)
    # Only an <svg> root counts: anything before it may be the prolog, never another element.
    return match is not None and not re.search(rb"<[A-Za-z]", head[: match.start()])


def looks_binary(sample: bytes, charset: str | None = None) -> bool:
    """Whether a sample of bytes is better shown as a hex dump than as text."""
    if b"\0" in sample and sample[:2] not in _BOMS:
        return True
    # Decoded as the text view would, binary data is full of C0/C1 controls (about a quarter of
    # random bytes) or of U+FFFD; text, in any charset, has almost none.
    text = decode_text(sample, charset).text
    odd = sum(
        1 for c in text if (c < " " and c not in "\t\n\r\f\x1b") or "\x7f" <= c < "\xa0" or c == "\ufffd"
    )
    return odd * 10 > len(text)


def _looks_like_json(data: bytes) -> bool:
    if data.lstrip(b" \t\r\n")[:1] not in (b"{", b"["):
        return False
    try:
        _check_json(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return True


# --- text -----------------------------------------------------------------------------

_UTF8_BOM = b"\xef\xbb\xbf"
_BOMS = {b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}


class DecodedText(msgspec.Struct, frozen=True):
    text: str
    charset: str
    valid: bool
    note: str | None = None


def decode_text(data: bytes, charset: str | None = None) -> DecodedText:
    """Decode with the declared charset, else UTF-8; a byte-order mark wins over both."""
    if data.startswith(_UTF8_BOM):
        candidates = ["utf-8-sig"]
    elif data[:2] in _BOMS:
        candidates = [_BOMS[data[:2]]]
    else:
        candidates = [charset, "utf-8"] if charset else ["utf-8"]
    note = None
    usable: list[str] = []
    for candidate in candidates:
        try:
            text = data.decode(candidate)
        except LookupError:
            note = f"Unknown charset {candidate!r}."
            continue
        except UnicodeDecodeError:
            usable.append(candidate)
            continue
        if usable:
            note = f"Not valid {usable[0]}; shown as {candidate}."
        return DecodedText(text, candidate, True, note)
    fallback = usable[0] if usable else "utf-8"
    text = data.decode(fallback, "replace")
    # When most bytes would become U+FFFD the sender most likely used a legacy 8-bit charset.
    if text.count("\ufffd") * 10 > len(text):
        return DecodedText(
            data.decode("latin-1"), "latin-1", False, f"Not valid {fallback}; shown as latin-1."
        )
    return DecodedText(text, fallback, False, f"Not valid {fallback}; invalid bytes shown as \ufffd.")


def _text_view(view: BodyView, data: bytes, charset: str | None, limits: Limits) -> BodyView:
    if looks_binary(data[:_SNIFF_BYTES], charset):
        return _binary_view(view, data, limits)
    cut = len(data) > limits.shown
    decoded = decode_text(_whole_characters(data[: limits.shown]) if cut else data, charset)
    notes = view.notes + ((decoded.note,) if decoded.note else ())
    if cut:
        notes += (
            f"Showing the first {limits.shown // 1024} KiB of {len(data)} bytes;"
            " download the body for all of it.",
        )
    return msgspec.structs.replace(
        view,
        kind=BodyKind.TEXT,
        text=decoded.text,
        text_cut=cut,
        text_charset=decoded.charset,
        text_valid=decoded.valid,
        notes=notes,
    )


def _whole_characters(data: bytes) -> bytes:
    """A cut prefix without a trailing part of a UTF-8 sequence, which would read as invalid text."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # the lead byte of the last sequence: keep it only if it is complete
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= needed else data[:-back]
    return data


def _fall_back(view: BodyView, data: bytes, charset: str | None, limits: Limits, error: str) -> BodyView:
    """Show a body that failed to parse as its claimed kind as text (or hex when binary)."""
    view = msgspec.structs.replace(view, parse_error=error, notes=(*view.notes, error))
    return _text_view(view, data, charset, limits)


# --- JSON -----------------------------------------------------------------------------

# JSON's lexical grammar; applied only to text that json.loads has accepted, so it always matches.
_JSON_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\n]+)
    |(?P<string>"[^"\\]*(?:\\.[^"\\]*)*")
    |(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    |(?P<lit>true|false|null)
    |(?P<punct>[{}\[\]:,])""",
    re.VERBOSE,
)
_INDENT = "  "


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _check_json(text: str) -> None:
    # Numbers stay strings: no float rounding and no int digit limit while checking.
    json.loads(text, parse_int=str, parse_float=str, parse_constant=_reject_constant)


def json_tokens(text: str) -> list[tuple[str, str]]:
    """Re-indent valid JSON as (kind, text) tokens, every literal kept exactly as sent."""
    significant = [
        (match.lastgroup or "", match.group())
        for match in _JSON_TOKEN.finditer(text)
        if match.lastgroup != "ws"
    ]
    out: list[tuple[str, str]] = []
    depth = 0
    for i, (group, lexeme) in enumerate(significant):
        after = significant[i + 1][1] if i + 1 < len(significant) else ""
        if group == "string":
            out.append(("key" if after == ":" else "string", lexeme))
        elif group == "number":
            out.append(("number", lexeme))
        elif group == "lit":
            out.append(("null" if lexeme == "null" else "bool", lexeme))
        elif lexeme in "{[":
            out.append(("punct", lexeme))
            if after not in ("}", "]"):
                depth += 1
                out.append(("whitespace", "\n" + _INDENT * depth))
        elif lexeme in "}]":
            if significant[i - 1][1] not in ("{", "["):
                depth -= 1
                out.append(("whitespace", "\n" + _INDENT * depth))
            out.append(("punct", lexeme))
        elif lexeme == ",":
            out += [("punct", ","), ("whitespace", "\n" + _INDENT * depth)]
        else:
            out += [("punct", ":"), ("whitespace", " ")]
    return out


def _json_view(view: BodyView, data: bytes, charset: str | None, limits: Limits, *, strict: bool) -> BodyView:
    if len(data) > limits.pretty:
        note = f"JSON over {limits.pretty} bytes is shown as received, not checked or pretty-printed."
        shown = _text_view(msgspec.structs.replace(view, notes=(*view.notes, note)), data, charset, limits)
        return msgspec.structs.replace(shown, kind=BodyKind.JSON) if shown.kind == BodyKind.TEXT else shown
    decoded = decode_text(data, charset)
    try:
        _check_json(decoded.text)
    except RecursionError:
        error = "JSON nested too deeply to check."
    except ValueError as exc:
        error = f"Invalid JSON: {exc}"
    else:
        tokens = json_tokens(decoded.text)
        notes = view.notes + ((decoded.note,) if decoded.note else ())
        if len(tokens) > limits.tokens:
            notes += (f"Over {limits.tokens} tokens: shown without highlighting.",)
        return msgspec.structs.replace(
            view,
            kind=BodyKind.JSON,
            text="".join(lexeme for _, lexeme in tokens),
            text_charset=decoded.charset,
            text_valid=decoded.valid,
            json_tokens=tuple(tokens) if len(tokens) <= limits.tokens else None,
            notes=notes,
        )
    if not strict:  # only a guess from the bytes: plain text, nothing to report
        return _text_view(view, data, charset, limits)
    view = msgspec.structs.replace(view, invalid_json=True)
    return _fall_back(view, data, charset, limits, error)


# --- XML ------------------------------------------------------------------------------


# Matched on the raw bytes; the declaration is ASCII by definition (XML 1.0, section 2.8).
_XML_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?(<\?xml\s[ -~]*?\?>)")


def pretty_xml(data: bytes) -> str:
    """Re-indent XML; entity declarations and external references are refused, never expanded."""
    document = parse_xml_safely(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    _drop_blank_text(document.documentElement)
    # minidom writes its own '<?xml version="1.0" ?>', dropping the encoding and standalone the
    # sender declared (and adding a declaration to documents that had none): show the sender's own.
    _, _, text = document.toprettyxml(indent=_INDENT).rstrip("\n").partition("\n")
    declared = _XML_DECLARATION.match(data)
    return f"{declared.group(1).decode('ascii')}\n{text}" if declared else text


def _drop_blank_text(root: Element) -> None:
    # The sender's own indentation would otherwise be doubled by toprettyxml.
    stack = [root]
    while stack:
        element = stack.pop()
        for child in list(element.childNodes):
            if child.nodeType == Node.TEXT_NODE and not child.data.strip():
                element.removeChild(child)
            elif child.nodeType == Node.ELEMENT_NODE:
                stack.append(child)


def _xml_view(view: BodyView, data: bytes, charset: str | None, limits: Limits, *, strict: bool) -> BodyView:
    if len(data) > limits.pretty:
        note = f"XML over {limits.pretty} bytes is shown as received, not pretty-printed."
        shown = _text_view(msgspec.structs.replace(view, notes=(*view.notes, note)), data, charset, limits)
        return msgspec.structs.replace(shown, kind=BodyKind.XML) if shown.kind is BodyKind.TEXT else shown
    try:
        text = pretty_xml(data)
    except DefusedXmlException as exc:
        error = f"XML with entity declarations or external references is not expanded ({exc!r})."
    except (ExpatError, ValueError) as exc:
        error = f"Invalid XML: {exc}"
    except RecursionError:
        error = "XML nested too deeply to pretty-print."
    else:
        return msgspec.structs.replace(view, kind=BodyKind.XML, text=text, text_valid=True)
    if not strict and not view.is_svg:
        return _text_view(view, data, charset, limits)
    return _fall_back(view, data, charset, limits, error)


# --- forms ----------------------------------------------------------------------------


def parse_urlencoded(
    data: bytes, charset: str | None = None, limit: int | None = None
) -> list[tuple[str, str]]:
    """Name/value pairs of application/x-www-form-urlencoded bytes, in order with duplicates."""
    charset = charset or "utf-8"
    try:
        b"a".decode(charset)  # empty input would skip the codec lookup
    except LookupError:
        charset = "utf-8"
    except UnicodeDecodeError:
        pass
    pairs = []
    for field in data.split(b"&"):
        if not field:
            continue
        if limit is not None and len(pairs) >= limit:
            break
        name, _, value = field.partition(b"=")
        # Percent-decode to bytes first, so the charset applies to the decoded bytes.
        pairs.append(
            (
                unquote_to_bytes(name.replace(b"+", b" ")).decode(charset, "replace"),
                unquote_to_bytes(value.replace(b"+", b" ")).decode(charset, "replace"),
            )
        )
    return pairs


def _form_view(view: BodyView, data: bytes, charset: str | None, limits: Limits) -> BodyView:
    if looks_binary(data[:_SNIFF_BYTES], charset):
        return _binary_view(view, data, limits)
    if len(data) > limits.shown:
        note = f"A form over {limits.shown // 1024} KiB is shown as text, not as a table of fields."
        return _text_view(msgspec.structs.replace(view, notes=(*view.notes, note)), data, charset, limits)
    pairs = parse_urlencoded(data, charset, limits.fields + 1)
    notes = view.notes
    if len(pairs) > limits.fields:
        pairs = pairs[: limits.fields]
        notes += (f"Only the first {limits.fields} fields are listed.",)
    decoded = decode_text(data, charset)
    return msgspec.structs.replace(
        view,
        kind=BodyKind.FORM,
        form=tuple(pairs),
        text=decoded.text,
        text_charset=decoded.charset,
        text_valid=decoded.valid,
        notes=notes,
    )


# --- multipart ------------------------------------------------------------------------


class _AnyMultipartParser(multipart.PushMultipartParser):
    """multipart's parser, taking parts of every multipart/* type, not only form-data ones."""

    def _create_segment(self, headerlist: list[Header]) -> multipart.MultipartSegment:
        # The documented hook; the base class rejects parts without Content-Disposition: form-data.
        return multipart.MultipartSegment(headerlist)


def _guess_boundary(data: bytes) -> str | None:
    first_line = data.split(b"\n", 1)[0].rstrip(b"\r")
    if first_line.startswith(b"--") and 2 < len(first_line) <= 72:
        return first_line[2:].decode("latin-1")
    return None


def parse_multipart(data: bytes, boundary: str, limits: Limits) -> tuple[list[BodyPart], str | None]:
    """The parts of a multipart body, and the parser's error if it failed part-way."""
    parts: list[BodyPart] = []
    segment: multipart.MultipartSegment | None = None
    chunks: list[bytes] = []
    error = None
    try:
        parser = _AnyMultipartParser(
            boundary, max_header_size=16 * 1024, max_header_count=64, max_segment_count=limits.parts
        )
        with parser:
            for event in parser.parse(data):
                if isinstance(event, multipart.MultipartSegment):
                    segment, chunks = event, []
                elif event is None and segment is not None:
                    parts.append(_make_part(segment, b"".join(chunks), limits))
                    segment = None
                else:
                    chunks.append(event)
    except multipart.MultipartError as exc:
        error = f"Invalid multipart body: {exc}"
        if segment is not None:
            parts.append(_make_part(segment, b"".join(chunks), limits, complete=False))
    return parts, error


def _make_part(
    segment: multipart.MultipartSegment, data: bytes, limits: Limits, *, complete: bool = True
) -> BodyPart:
    content_type = segment.content_type or None
    textual = (
        declared_kind(content_type) in (BodyKind.JSON, BodyKind.XML, BodyKind.FORM, BodyKind.TEXT)
        or content_type == "text/plain"
        or (content_type is None and not looks_binary(data[:_SNIFF_BYTES], segment.charset))
    )
    text, valid, cut = None, False, False
    if textual:
        # Only what the preview shows is decoded: a part may be megabytes long.
        cut = len(data) > limits.preview
        decoded = decode_text(_whole_characters(data[: limits.preview]) if cut else data, segment.charset)
        text, valid = decoded.text, decoded.valid
    return BodyPart(
        headers=tuple(segment.headerlist),
        name=segment.name,
        filename=segment.filename,
        content_type=content_type,
        size=len(data),
        data=data,
        text=text,
        text_valid=valid,
        text_truncated=cut,
        complete=complete,
    )


def _multipart_view(
    view: BodyView, data: bytes, boundary: str | None, charset: str | None, limits: Limits
) -> BodyView:
    notes = view.notes
    if not boundary:
        boundary = _guess_boundary(data)
        if boundary is None:
            return _fall_back(view, data, charset, limits, "Multipart body without a boundary parameter.")
        notes += (f"No boundary parameter; using {boundary!r} from the first line.",)
    view = msgspec.structs.replace(view, notes=notes)
    parts, error = parse_multipart(data, boundary, limits)
    if not parts:
        return _fall_back(view, data, charset, limits, error or "Multipart body without parts.")
    if error:
        view = msgspec.structs.replace(view, parse_error=error, notes=(*view.notes, error))
    # The previews together stay within what a page shows of one body.
    budget = limits.shown
    for n, part in enumerate(parts):
        if part.text is not None:
            kept = part.text[: max(budget, 0)]
            budget -= len(kept)
            if len(kept) < len(part.text):
                parts[n] = msgspec.structs.replace(part, text=kept or None, text_truncated=True)
    return msgspec.structs.replace(view, kind=BodyKind.MULTIPART, parts=tuple(parts))


# --- binary ---------------------------------------------------------------------------

_HEX_WIDTH = 16 * 3


def hexdump(data: bytes, max_rows: int) -> tuple[list[HexRow], int]:
    """Rows of 16 bytes (offset, hex, ASCII) up to max_rows, and the count of bytes left out."""
    rows = []
    shown = min(len(data), max_rows * 16)
    for offset in range(0, shown, 16):
        chunk = data[offset : offset + 16]
        hex_text = "  ".join(half.hex(" ") for half in (chunk[:8], chunk[8:]) if half)
        ascii_text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        rows.append(HexRow(offset, hex_text.ljust(_HEX_WIDTH), ascii_text))
    return rows, len(data) - shown


def _binary_view(view: BodyView, data: bytes, limits: Limits) -> BodyView:
    rows, more = hexdump(data, limits.hex_rows)
    return msgspec.structs.replace(view, kind=BodyKind.BINARY, hex_rows=tuple(rows), hex_more=more)
