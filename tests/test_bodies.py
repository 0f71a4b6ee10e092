"""Decoding and display of captured bodies."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from datetime import UTC, datetime

import brotli
import pytest
import zstandard

from inspector.bodies import (
    SHOWN_BYTES,
    BodyKind,
    Limits,
    decode_text,
    describe,
    describe_body,
    hexdump,
    json_tokens,
    parse_urlencoded,
)
from inspector.models import CapturedRequest

JSON_BODY = (
    '{"zeta": 12345678901234567890123, "alpha": [1.10, -0.0, 2E+5, true, false, null],'
    ' "name": "Zoë ✓", "escaped": "\\u00e9\\n", "empty": {}, "none": [], "nested": {"b": 1, "a": 2}}'
).encode()


def json_headers(**extra: str) -> list[tuple[str, str]]:
    return [("content-type", "application/json"), *((k.replace("_", "-"), v) for k, v in extra.items())]


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


# --- content encoding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),
        ("br", brotli.compress),
        ("zstd", lambda data: zstandard.ZstdCompressor().compress(data)),
        ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),
        ("deflate,gzip", lambda data: gzip.compress(zlib.compress(data))),
    ],
)
def test_encoded_bodies_decode_for_display_only(coding: str, encode) -> None:
    body = encode(JSON_BODY)
    original = bytes(body)
    request = CapturedRequest(
        bin_id="b1",
        method="POST",
        path="/b/b1",
        sub_path="",
        query="",
        headers=[("content-type", "application/json"), ("content-encoding", coding)],
        body=body,
        body_size=len(body),
        body_sha256=None,
        client_ip=None,
        client_port=None,
        host="localhost",
        scheme="http",
        http_version="1.1",
        received_at=datetime.now(UTC),
    )
    view = describe(request)
    assert request.body == original  # the capture is untouched
    assert view.kind is BodyKind.JSON
    assert view.decoded and not view.truncated
    assert view.content_encodings == tuple(c.strip() for c in coding.split(","))
    assert view.raw_size == len(body)
    assert view.decoded_size == len(JSON_BODY)
    assert "12345678901234567890123" in (view.text or "")


def test_encoding_headers_repeated_combine_in_order() -> None:
    body = brotli.compress(gzip.compress(JSON_BODY))
    view = describe_body([("Content-Encoding", "gzip"), ("Content-Encoding", "br")], body)
    assert view.content_encodings == ("gzip", "br")
    assert view.kind is BodyKind.JSON


def test_corrupt_encoding_is_a_note_and_the_raw_bytes_are_shown() -> None:
    body = b"\x1f\x8b\x08\x00garbage that is not deflate"
    view = describe_body(json_headers(content_encoding="gzip"), body)
    assert not view.decoded
    assert any("Could not decode gzip" in note for note in view.notes)
    assert view.decoded_size == len(body)
    # Still gzip, so not JSON; its NUL byte makes it a hex dump.
    assert view.kind is BodyKind.BINARY
    assert view.invalid_json and view.parse_error


def test_unknown_encoding_is_a_note() -> None:
    view = describe_body([("content-encoding", "compress")], b"\x1f\x9d\x90abc")
    assert not view.decoded
    assert any("'compress' is not supported" in note for note in view.notes)


def test_truncated_stream_shows_what_it_decodes_to() -> None:
    text = b"hello world, " * 1000
    body = gzip.compress(text)[:-40]
    view = describe_body([("content-type", "text/plain"), ("content-encoding", "gzip")], body)
    assert view.decoded
    assert any("ends early" in note for note in view.notes)
    assert text.startswith(view.text.encode())


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", lambda data: gzip.compress(data, 9)),
        ("deflate", lambda data: zlib.compress(data, 9)),
        ("br", brotli.compress),
        ("zstd", lambda data: zstandard.ZstdCompressor(level=19).compress(data)),
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data, 9), 9)),
    ],
)
def test_decompression_bomb_is_capped(coding: str, encode) -> None:
    bomb = encode(b"\0" * (64 * 1024 * 1024))
    assert len(bomb) < 1024 * 1024
    started = time.monotonic()
    view = describe_body([("content-encoding", coding)], bomb, Limits(decoded=1024 * 1024))
    assert time.monotonic() - started < 10
    assert view.truncated
    assert view.decoded_size == 1024 * 1024
    assert any("truncated at 1048576 bytes" in note for note in view.notes)
    assert view.kind is BodyKind.BINARY
    assert len(view.hex_rows or ()) == Limits().hex_rows
    assert view.hex_more == 1024 * 1024 - 16 * Limits().hex_rows


def test_default_cap_is_16_mib() -> None:
    view = describe_body([("content-encoding", "gzip")], gzip.compress(b"a" * (17 * 1024 * 1024)))
    assert view.truncated
    assert view.decoded_size == 16 * 1024 * 1024


# --- JSON -----------------------------------------------------------------------------


def test_json_pretty_print_keeps_order_numbers_and_non_ascii() -> None:
    view = describe_body(json_headers(), JSON_BODY)
    assert view.kind is BodyKind.JSON
    assert not view.invalid_json and view.parse_error is None
    expected = "\n".join(
        [
            "{",
            '  "zeta": 12345678901234567890123,',
            '  "alpha": [',
            "    1.10,",
            "    -0.0,",
            "    2E+5,",
            "    true,",
            "    false,",
            "    null",
            "  ],",
            '  "name": "Zoë ✓",',
            '  "escaped": "\\u00e9\\n",',
            '  "empty": {},',
            '  "none": [],',
            '  "nested": {',
            '    "b": 1,',
            '    "a": 2',
            "  }",
            "}",
        ]
    )
    assert view.text == expected
    # Same layout as json.dumps(indent=2) would give, without its number rounding.
    assert json.loads(view.text) == json.loads(JSON_BODY)


def test_json_tokens_join_to_the_text_and_are_classified() -> None:
    view = describe_body(json_headers(), JSON_BODY)
    tokens = view.json_tokens
    assert tokens is not None
    assert "".join(text for _, text in tokens) == view.text
    kinds = {kind for kind, _ in tokens}
    assert kinds == {"key", "string", "number", "bool", "null", "punct", "whitespace"}
    assert ("key", '"zeta"') in tokens
    assert ("number", "12345678901234567890123") in tokens
    assert ("number", "1.10") in tokens
    assert ("string", '"Zoë ✓"') in tokens
    assert ("bool", "false") in tokens
    assert ("null", "null") in tokens


def test_json_duplicate_keys_and_scalars_are_kept() -> None:
    assert "".join(t for _, t in json_tokens('{"a":1,"a":2}')) == '{\n  "a": 1,\n  "a": 2\n}'
    assert json_tokens(' "just a string" ') == [("string", '"just a string"')]


@pytest.mark.parametrize(
    "body",
    [b'{"a": 1,}', b'{"a": NaN}', b"{'a': 1}", b'{"a": 1} trailing', b'{"a": "\x01"}'],
)
def test_invalid_json_falls_back_to_text(body: bytes) -> None:
    view = describe_body(json_headers(), body)
    assert view.invalid_json
    assert view.kind is BodyKind.TEXT
    assert view.text == body.decode()
    assert view.parse_error and view.parse_error.startswith("Invalid JSON")
    assert view.json_tokens is None


def test_deeply_nested_json_does_not_crash() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    view = describe_body(json_headers(), body)
    assert view.kind in (BodyKind.JSON, BodyKind.TEXT)


def test_json_with_charset_and_bom() -> None:
    body = "\ufeff" + '{"k": "é"}'
    view = describe_body([("content-type", "application/json; charset=utf-8")], body.encode("utf-8"))
    assert view.kind is BodyKind.JSON
    assert view.charset == "utf-8"
    assert view.text == '{\n  "k": "é"\n}'
    latin = describe_body(
        [("content-type", "application/json; charset=ISO-8859-1")], '{"k": "é"}'.encode("latin-1")
    )
    assert latin.text == '{\n  "k": "é"\n}'
    assert latin.text_charset == "ISO-8859-1"


def test_vendor_json_types_and_json_sent_as_text_plain() -> None:
    assert describe_body([("content-type", "application/cloudevents+json")], b"{}").kind is BodyKind.JSON
    # AWS SNS posts JSON as text/plain.
    view = describe_body([("content-type", "text/plain; charset=UTF-8")], b'{"Type": "Notification"}')
    assert view.kind is BodyKind.JSON
    assert view.sniffed
    assert view.notes


def test_json_declared_as_form_is_shown_as_json() -> None:
    view = describe_body([("content-type", "application/x-www-form-urlencoded")], b'{"a": [1, 2]}')
    assert view.kind is BodyKind.JSON
    assert view.sniffed


def test_large_json_is_shown_unparsed() -> None:
    body = json.dumps([{"n": i} for i in range(20_000)]).encode()
    view = describe_body(json_headers(), body, Limits(pretty=64 * 1024))
    assert view.kind is BodyKind.JSON
    assert view.text == body.decode()[:SHOWN_BYTES]  # and past what a page shows, cut
    assert view.text_cut
    assert view.json_tokens is None
    assert view.notes


def test_text_past_what_a_page_shows_is_cut_on_a_character_boundary() -> None:
    body = ("✨" * 200).encode()  # 3 bytes a character
    for shown in (100, 101, 102):
        view = describe_body([("content-type", "text/plain; charset=utf-8")], body, Limits(shown=shown))
        assert view.text == "✨" * (shown // 3)
        assert view.text_cut
        assert view.text_valid  # a cut inside a character must not read as invalid UTF-8
        assert any("download" in note for note in view.notes)
    whole = describe_body([("content-type", "text/plain")], body, Limits(shown=600))
    assert whole.text == "✨" * 200
    assert not whole.text_cut


def test_multipart_previews_share_one_budget_and_large_forms_show_as_text() -> None:
    part = b'--b\r\nContent-Disposition: form-data; name="f"\r\nContent-Type: text/plain\r\n\r\n'
    body = (part + b"y" * 1000 + b"\r\n") * 5 + b"--b--\r\n"
    view = describe_body([("content-type", "multipart/form-data; boundary=b")], body, Limits(shown=2500))
    assert view.parts is not None
    assert [len(p.text or "") for p in view.parts] == [1000, 1000, 500, 0, 0]
    assert [p.text_truncated for p in view.parts] == [False, False, True, True, True]
    assert all(len(p.data) == 1000 for p in view.parts)  # downloads stay whole
    form = describe_body(
        [("content-type", "application/x-www-form-urlencoded")], b"a=1&" * 100, Limits(shown=50)
    )
    assert form.kind is BodyKind.TEXT
    assert form.form is None
    assert len(form.text or "") == 50


def test_large_xml_is_shown_unparsed() -> None:
    body = b"<r>" + b"<i>1</i>" * 1000 + b"</r>"
    view = describe_body([("content-type", "application/xml")], body, Limits(pretty=1000))
    assert view.kind is BodyKind.XML
    assert view.text == body.decode()
    assert view.notes


def test_many_tokens_drop_highlighting_but_keep_pretty_text() -> None:
    body = json.dumps(list(range(2000))).encode()
    view = describe_body(json_headers(), body, Limits(tokens=100))
    assert view.json_tokens is None
    assert view.text is not None and view.text.startswith("[\n  0,\n  1,")


# --- forms ----------------------------------------------------------------------------


def test_form_with_duplicates_and_percent_encoding() -> None:
    body = b"name=Zo%C3%AB+B&tag=a&tag=b%26c&empty=&flag&%E2%9C%93=yes&bad=%ZZ&&last=%2B"
    view = describe_body([("content-type", "application/x-www-form-urlencoded")], body)
    assert view.kind is BodyKind.FORM
    assert view.form == (
        ("name", "Zoë B"),
        ("tag", "a"),
        ("tag", "b&c"),
        ("empty", ""),
        ("flag", ""),
        ("✓", "yes"),
        ("bad", "%ZZ"),
        ("last", "+"),
    )
    assert view.text == body.decode()


def test_form_with_declared_charset() -> None:
    body = b"city=M%FCnchen&raw=\xe9"
    view = describe_body([("content-type", "application/x-www-form-urlencoded; charset=ISO-8859-1")], body)
    assert view.form == (("city", "München"), ("raw", "é"))
    # Invalid UTF-8 is replaced, not fatal.
    assert parse_urlencoded(b"a=%FF") == [("a", "\ufffd")]
    assert parse_urlencoded(b"a=%FF", "no-such-charset") == [("a", "\ufffd")]


def test_form_field_limit() -> None:
    body = b"&".join(b"f%d=%d" % (i, i) for i in range(50))
    view = describe_body([("content-type", "application/x-www-form-urlencoded")], body, Limits(fields=10))
    assert len(view.form or ()) == 10
    assert any("first 10 fields" in note for note in view.notes)


# --- multipart ------------------------------------------------------------------------

FILE_BYTES = b"\x89PNG\r\n\x1a\n\x00\xff\r\n--not-the-boundary\r\n\x00\x01\xfe"


def multipart_body(boundary: str = "----WebKitFormBoundary7MA4YWxkTrZu0gW") -> bytes:
    b = boundary.encode()
    return (
        b"--" + b + b"\r\n"
        b'Content-Disposition: form-data; name="comment"\r\n\r\n'
        b"caf\xc3\xa9 \xe2\x9c\x93\r\n"
        b"--" + b + b"\r\n"
        b'Content-Disposition: form-data; name="upload"; filename="pic.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + FILE_BYTES + b"\r\n"
        b"--" + b + b"\r\n"
        b'Content-Disposition: form-data; name="comment"\r\n'
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n"
        b"second \xe9\r\n"
        b"--" + b + b"--\r\n"
    )


def test_multipart_text_field_and_binary_file() -> None:
    boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    view = describe_body(
        [("content-type", f'multipart/form-data; boundary="{boundary}"')], multipart_body(boundary)
    )
    assert view.kind is BodyKind.MULTIPART
    assert view.parse_error is None
    assert view.parts is not None and len(view.parts) == 3
    field, upload, again = view.parts
    assert field.name == "comment"
    assert field.filename is None
    assert field.content_type is None
    assert field.data == "café ✓".encode()
    assert field.size == len(field.data)
    assert field.text == "café ✓" and field.text_valid
    assert upload.name == "upload"
    assert upload.filename == "pic.png"
    assert upload.content_type == "image/png"
    assert upload.data == FILE_BYTES
    assert upload.size == len(FILE_BYTES)
    assert upload.text is None
    assert ("Content-Type", "image/png") in upload.headers
    assert again.name == "comment"
    assert again.text == "second é"


def test_multipart_mixed_without_content_disposition() -> None:
    body = (
        b'--sep\r\nContent-Type: application/json\r\n\r\n{"a": 1}\r\n'
        b"--sep\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\n--sep--"
    )
    view = describe_body([("content-type", "multipart/mixed; boundary=sep")], body)
    assert view.kind is BodyKind.MULTIPART
    assert [p.name for p in view.parts or ()] == [None, None]
    assert view.parts[0].text == '{"a": 1}'
    assert view.parts[1].data == b"\x00\x01"


def test_multipart_missing_boundary_is_guessed_with_a_note() -> None:
    view = describe_body([("content-type", "multipart/form-data")], multipart_body("xyz"))
    assert view.kind is BodyKind.MULTIPART
    assert len(view.parts or ()) == 3
    assert any("No boundary parameter" in note for note in view.notes)


def test_multipart_without_usable_boundary_falls_back() -> None:
    view = describe_body([("content-type", "multipart/form-data")], b"no boundary here")
    assert view.kind is BodyKind.TEXT
    assert view.parse_error == "Multipart body without a boundary parameter."
    wrong = describe_body([("content-type", "multipart/form-data; boundary=other")], multipart_body("xyz"))
    assert wrong.parts is None
    assert wrong.parse_error and wrong.parse_error.startswith("Invalid multipart body")
    assert wrong.kind is BodyKind.BINARY  # the file part's NUL bytes make it binary


def test_multipart_cut_short_keeps_the_parts_so_far() -> None:
    body = multipart_body("xyz")
    view = describe_body(
        [("content-type", "multipart/form-data; boundary=xyz")], body[: body.index(b"second") + 3]
    )
    assert view.kind is BodyKind.MULTIPART
    assert view.parse_error
    assert view.parts is not None
    assert view.parts[0].complete
    assert not view.parts[-1].complete


# --- XML ------------------------------------------------------------------------------


def test_xml_is_pretty_printed() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><a:root xmlns:a="urn:x">'
        b'<a:item id="1">caf\xc3\xa9</a:item><!-- c --><empty/></a:root>'
    )
    view = describe_body([("content-type", "application/xml")], body)
    assert view.kind is BodyKind.XML
    assert view.text == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'  # as declared, encoding included
        '<a:root xmlns:a="urn:x">\n'
        '  <a:item id="1">café</a:item>\n'
        "  <!-- c -->\n"
        "  <empty/>\n"
        "</a:root>"
    )


def test_xml_existing_indentation_is_not_doubled() -> None:
    view = describe_body([("content-type", "text/xml")], b"<r>\n    <x>1</x>\n</r>\n")
    assert view.text == "<r>\n  <x>1</x>\n</r>"  # no declaration the sender did not send


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE data [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<data>&secret;</data>
"""

XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE data [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/evil.dtd"> %ext;]>
<data>x</data>
"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, XXE_PARAMETER])
def test_hostile_xml_is_not_expanded(body: bytes) -> None:
    started = time.monotonic()
    view = describe_body([("content-type", "application/xml")], body)
    assert time.monotonic() - started < 5
    assert view.kind is BodyKind.TEXT
    assert view.text == body.decode()  # exactly as sent: nothing expanded or fetched
    assert "root:" not in view.text
    assert view.parse_error and "not expanded" in view.parse_error


def test_invalid_xml_falls_back_to_text() -> None:
    view = describe_body([("content-type", "application/xml")], b"<a><b></a>")
    assert view.kind is BodyKind.TEXT
    assert view.parse_error and view.parse_error.startswith("Invalid XML")
    assert view.text == "<a><b></a>"


# --- text and charsets ----------------------------------------------------------------


def test_text_with_declared_charset() -> None:
    view = describe_body([("content-type", "text/plain; charset=iso-8859-1")], "Grüße".encode("latin-1"))
    assert view.kind is BodyKind.TEXT
    assert view.text == "Grüße"
    assert view.text_valid


def test_text_charset_fallbacks() -> None:
    assert decode_text("é".encode()).valid
    # Declared charset wrong, but the bytes are UTF-8.
    wrong = decode_text("✓".encode(), "ascii")
    assert (wrong.text, wrong.charset, wrong.valid) == ("✓", "utf-8", True)
    # Mostly fine UTF-8 with one bad byte: replacement character.
    bad = decode_text(b"hello world \xff!")
    assert (bad.text, bad.valid) == ("hello world \ufffd!", False)
    # Mostly legacy bytes: latin-1 reads better than a row of U+FFFD.
    legacy = decode_text("àéîõü".encode("latin-1"))
    assert (legacy.text, legacy.charset, legacy.valid) == ("àéîõü", "latin-1", False)
    unknown = decode_text(b"abc", "x-no-such-charset")
    assert unknown.text == "abc" and unknown.note
    # Non-text codecs are not charsets.
    assert decode_text(b"YWJj", "base64").text == "YWJj"


def test_utf16_with_bom_is_text() -> None:
    view = describe_body([("content-type", "text/plain")], "hi ✓".encode("utf-16"))
    assert view.kind is BodyKind.TEXT
    assert view.text == "hi ✓"


def test_html_is_text_not_rendered() -> None:
    view = describe_body([("content-type", "text/html")], b"<script>alert(1)</script>")
    assert view.kind is BodyKind.TEXT
    assert view.text == "<script>alert(1)</script>"


# --- binary ---------------------------------------------------------------------------


def test_hex_dump_of_nul_and_ff() -> None:
    body = b"\x00\xffAB\x7f " + bytes(range(250, 256)) + b"0123456789"
    view = describe_body([("content-type", "application/octet-stream")], body)
    assert view.kind is BodyKind.BINARY
    rows = view.hex_rows
    assert rows is not None and len(rows) == 2
    assert rows[0].offset == 0 and rows[0].offset_hex == "00000000"
    assert rows[0].hex == "00 ff 41 42 7f 20 fa fb  fc fd fe ff 30 31 32 33"
    assert rows[0].ascii == "..AB. ......0123"
    assert rows[1].offset == 16
    assert rows[1].hex.rstrip() == "34 35 36 37 38 39"
    assert len(rows[1].hex) == len(rows[0].hex)  # padded so the ASCII column lines up
    assert rows[1].ascii == "456789"
    assert view.hex_more == 0


def test_hex_dump_is_capped() -> None:
    rows, more = hexdump(bytes(1000), 4)
    assert len(rows) == 4
    assert more == 1000 - 64
    view = describe_body([], b"\0" * 1000, Limits(hex_rows=2))
    assert len(view.hex_rows or ()) == 2 and view.hex_more == 968


# --- sniffing and images --------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(17)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(10)
GIF = b"GIF89a" + bytes(10)
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 " + bytes(10)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"a": 1}', BodyKind.JSON),
        (b"  [1, 2]\n", BodyKind.JSON),
        (b"a=1&b=two&c=%20", BodyKind.FORM),
        (b"<?xml version='1.0'?><r/>", BodyKind.XML),
        (b"<note><to>x</to></note>", BodyKind.XML),
        (b"<!DOCTYPE html><html><body>hi</body></html>", BodyKind.TEXT),
        (b"just some words", BodyKind.TEXT),
        ("Grüße".encode("latin-1"), BodyKind.TEXT),
        (b'\xef\xbb\xbf{"bom": true}', BodyKind.JSON),
        (b"[not json", BodyKind.TEXT),
        (PNG, BodyKind.IMAGE),
        (JPEG, BodyKind.IMAGE),
        (GIF, BodyKind.IMAGE),
        (WEBP, BodyKind.IMAGE),
        (b"\x00\x01\x02\x03", BodyKind.BINARY),
        (bytes(range(128, 256)), BodyKind.BINARY),
        (b"", BodyKind.EMPTY),
    ],
)
def test_missing_content_type_is_sniffed(body: bytes, kind: BodyKind) -> None:
    view = describe_body([], body)
    assert view.kind is kind
    assert view.media_type is None
    assert view.sniffed or kind is BodyKind.EMPTY
    assert view.parse_error is None  # a wrong guess is silent


def test_octet_stream_is_sniffed_but_not_as_form() -> None:
    assert describe_body([("content-type", "application/octet-stream")], b'{"a":1}').kind is BodyKind.JSON
    assert describe_body([("content-type", "application/octet-stream")], b"a=1").kind is BodyKind.TEXT


@pytest.mark.parametrize(
    ("body", "media_type"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")]
)
def test_images_give_their_media_type(body: bytes, media_type: str) -> None:
    view = describe_body([("content-type", media_type)], body)
    assert view.kind is BodyKind.IMAGE
    assert view.image_type == media_type
    assert not view.sniffed


def test_image_content_type_that_lies() -> None:
    view = describe_body([("content-type", "image/png")], JPEG)
    assert view.kind is BodyKind.IMAGE
    assert view.image_type == "image/jpeg"
    assert view.notes
    fake = describe_body([("content-type", "image/png")], b"not an image at all")
    assert fake.kind is BodyKind.TEXT
    assert fake.image_type is None


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


@pytest.mark.parametrize(
    "headers",
    [[("content-type", "image/svg+xml")], [("content-type", "image/png")], []],
)
def test_svg_is_never_a_previewable_image(headers: list[tuple[str, str]]) -> None:
    view = describe_body(headers, SVG)
    assert view.kind is BodyKind.XML
    assert view.is_svg
    assert view.image_type is None
    assert view.text is not None and "<script>alert(2)</script>" in view.text
    assert any("SVG" in note for note in view.notes)


def test_svg_with_prolog_and_broken_svg() -> None:
    body = b'<?xml version="1.0"?>\n<!-- drawn -->\n<!DOCTYPE svg>\n<svg><rect/></svg>'
    assert describe_body([], body).is_svg
    broken = describe_body([("content-type", "image/svg+xml")], b"<svg><rect></svg>")
    assert broken.kind is BodyKind.TEXT
    assert broken.is_svg
    assert broken.image_type is None
    assert describe_body([], b"<feed><svg/></feed>").is_svg is False


def test_size_facts() -> None:
    body = gzip.compress(b"x" * 1000)
    view = describe_body([("content-type", "text/plain"), ("content-encoding", "gzip")], body)
    assert (view.raw_size, view.decoded_size) == (len(body), 1000)
    plain = describe_body([("content-type", "text/plain")], b"abc")
    assert (plain.raw_size, plain.decoded_size, plain.content_encodings) == (3, 3, ())
