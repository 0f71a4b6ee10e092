"""The JSON API over real HTTP: bins, listing with keyset pages, one request, its body, deletion."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pytest
from conftest import ServerProcess, send_raw


def capture(client: httpx.Client, bin_id: str, n: int) -> list[int]:
    return [
        int(client.post(f"/b/{bin_id}/n/{i}", content=str(i).encode()).headers["x-inspector-request-id"])
        for i in range(n)
    ]


def test_create_bin(server: ServerProcess, client: httpx.Client) -> None:
    response = client.post("/api/bins")
    assert response.status_code == 201
    bin = response.json()
    assert re.fullmatch(r"[A-Za-z0-9_-]{20}", bin["id"])  # 120 random bits, URL-safe
    assert bin["url"] == f"{server.url}/b/{bin['id']}"
    created, expires = datetime.fromisoformat(bin["created_at"]), datetime.fromisoformat(bin["expires_at"])
    assert expires - created == timedelta(days=7)
    assert bin["request_count"] == 0
    assert len({client.post("/api/bins").json()["id"] for _ in range(50)}) == 50


def test_create_bin_with_a_chosen_name(client: httpx.Client) -> None:
    name = f"demo-{datetime.now().timestamp():.0f}"
    created = client.post("/api/bins", json={"name": name})
    assert created.status_code == 201
    assert created.json()["id"] == name
    taken = client.post("/api/bins", json={"name": name})
    assert taken.status_code == 409
    assert name in taken.json()["detail"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"name": "a b"}', "3 to 64 characters"),
        (b'{"name": "x"}', "3 to 64 characters"),
        (b'{"nmae": "typo"}', "unknown field"),
        (b"{not json", "JSON is malformed"),
    ],
)
def test_create_bin_rejects_bad_input(client: httpx.Client, body: bytes, fragment: str) -> None:
    response = client.post("/api/bins", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert fragment in response.text


def test_bin_url_uses_the_public_url(start_server) -> None:
    server = start_server("--public-url", "https://hooks.example.com/")
    bin = httpx.post(f"{server.url}/api/bins").json()
    assert bin["url"] == f"https://hooks.example.com/b/{bin['id']}"


def test_get_and_delete_bin(client: httpx.Client, bin_id: str) -> None:
    capture(client, bin_id, 3)
    assert client.get(f"/api/bins/{bin_id}").json()["request_count"] == 3
    assert client.delete(f"/api/bins/{bin_id}").status_code == 204
    assert client.get(f"/api/bins/{bin_id}").status_code == 404
    assert client.get(f"/api/bins/{bin_id}/requests").status_code == 404
    assert client.delete(f"/api/bins/{bin_id}").status_code == 404


def test_clear_bin(client: httpx.Client, bin_id: str) -> None:
    capture(client, bin_id, 3)
    assert client.delete(f"/api/bins/{bin_id}/requests").status_code == 204
    assert client.get(f"/api/bins/{bin_id}/requests").json() == {"items": [], "next": None}
    assert capture(client, bin_id, 1)
    assert client.get(f"/api/bins/{bin_id}").json()["request_count"] == 1


def test_pages_walk_newest_first_with_no_gap_or_duplicate(client: httpx.Client, bin_id: str) -> None:
    ids = capture(client, bin_id, 53)
    seen: list[int] = []
    before = None
    pages = 0
    while True:
        params = {"limit": 10, **({"before": before} if before else {})}
        page = client.get(f"/api/bins/{bin_id}/requests", params=params).json()
        pages += 1
        seen += [item["id"] for item in page["items"]]
        if pages == 2:
            capture(client, bin_id, 5)  # new arrivals do not shift later pages
        if page["next"] is None:
            break
        assert page["next"] == page["items"][-1]["id"]
        before = page["next"]
    assert pages == 6
    assert seen == sorted(ids, reverse=True)


def test_list_item_fields(client: httpx.Client, bin_id: str) -> None:
    client.post(f"/b/{bin_id}/hooks/github?x=1", json={"a": 1})
    item = client.get(f"/api/bins/{bin_id}/requests").json()["items"][0]
    assert item["method"] == "POST"
    assert item["sub_path"] == "/hooks/github"
    assert item["query"] == "x=1"
    assert item["content_type"] == "application/json"
    assert item["body_size"] == len(b'{"a":1}')
    assert item["client_ip"] == "127.0.0.1"
    assert "body" not in item and "headers" not in item


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"limit": "ten"}, {"before": "x"}])
def test_list_rejects_bad_paging(client: httpx.Client, bin_id: str, params: dict) -> None:
    response = client.get(f"/api/bins/{bin_id}/requests", params=params)
    assert response.status_code == 400
    assert "detail" in response.json()


def test_one_request_and_its_deletion(client: httpx.Client, bin_id: str) -> None:
    first, second = capture(client, bin_id, 2)
    other_bin = client.post("/api/bins").json()["id"]
    assert client.get(f"/api/bins/{other_bin}/requests/{first}").status_code == 404
    assert client.get(f"/api/bins/{bin_id}/requests/999999999").status_code == 404

    assert client.delete(f"/api/bins/{bin_id}/requests/{first}").status_code == 204
    assert client.get(f"/api/bins/{bin_id}/requests/{first}").status_code == 404
    assert client.get(f"/api/bins/{bin_id}/requests/{first}/body").status_code == 404
    assert client.delete(f"/api/bins/{bin_id}/requests/{first}").status_code == 404
    assert [item["id"] for item in client.get(f"/api/bins/{bin_id}/requests").json()["items"]] == [second]


def test_body_of_hostile_html_cannot_run(client: httpx.Client, bin_id: str) -> None:
    payload = b"<script>alert(1)</script>"
    request_id = client.post(f"/b/{bin_id}", content=payload, headers={"content-type": "text/html"}).headers[
        "x-inspector-request-id"
    ]
    body = client.get(f"/api/bins/{bin_id}/requests/{request_id}/body")
    assert body.content == payload
    assert body.headers["content-type"] == "text/html"
    assert body.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert body.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "content_type",
    ["text/javascript", "Application/ECMAScript; charset=utf-8", "text/css", "text/plain, text/css"],
)
def test_body_of_a_script_or_stylesheet_is_served_inert(
    client: httpx.Client, bin_id: str, content_type: str
) -> None:
    # A page of this origin could otherwise load it with <script src> or <link rel=stylesheet>.
    payload = b"document.title = 'pwned'; /* \xff\x00 */ body { color: red }"
    sent = client.post(f"/b/{bin_id}", content=payload, headers={"content-type": content_type})
    body = client.get(f"/api/bins/{bin_id}/requests/{sent.headers['x-inspector-request-id']}/body")
    assert body.content == payload
    assert body.headers["content-type"] == "application/octet-stream"
    assert body.headers["x-content-type-options"] == "nosniff"
    assert body.headers["content-security-policy"] == "default-src 'none'; sandbox"


def test_multipart_part_of_a_script_type_is_served_inert(client: httpx.Client, bin_id: str) -> None:
    script = b"document.title = 'pwned'"
    payload = (
        b'--XyZ\r\nContent-Disposition: form-data; name="a"; filename="a.js"\r\n'
        b"Content-Type: text/javascript\r\n\r\n" + script + b"\r\n"
        b'--XyZ\r\nContent-Disposition: form-data; name="b"; filename="b.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nplain\r\n--XyZ--\r\n"
    )
    sent = client.post(
        f"/b/{bin_id}", content=payload, headers={"content-type": "multipart/form-data; boundary=XyZ"}
    )
    parts = f"/api/bins/{bin_id}/requests/{sent.headers['x-inspector-request-id']}/parts"
    script_part, text_part = client.get(f"{parts}/0"), client.get(f"{parts}/1")
    assert (script_part.content, script_part.headers["content-type"]) == (script, "application/octet-stream")
    assert (text_part.content, text_part.headers["content-type"]) == (b"plain", "text/plain")


def test_health_schema_and_security_headers(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "store": "ok", "hub": "ok"}
    schema = client.get("/api/schema/openapi.json").json()
    assert schema["info"]["title"] == "Webhook Inspector"
    assert "/api/bins" in schema["paths"]
    assert "/api/bins/{bin_id}/requests/{request_id}/body" in schema["paths"]
    home = client.get("/")
    assert home.status_code == 200
    assert "script-src 'self'" in home.headers["content-security-policy"]
    assert home.headers["x-content-type-options"] == "nosniff"


TOO_BIG = str(2**63)  # one past the largest id any database here can hold


def test_ids_and_cursors_past_64_bits_are_client_errors(client: httpx.Client, bin_id: str) -> None:
    [request_id] = capture(client, bin_id, 1)
    for path in (
        f"/api/bins/{bin_id}/requests/{TOO_BIG}",
        f"/api/bins/{bin_id}/requests/{TOO_BIG}/body",
        f"/api/bins/{bin_id}/requests/{request_id}/parts/{TOO_BIG}",
        f"/api/bins/{bin_id}/requests/{TOO_BIG}/attempts",
        f"/api/bins/{bin_id}/requests?before={TOO_BIG}",
        f"/bins/{bin_id}/requests/{TOO_BIG}",
        f"/bins/{bin_id}/rows?before={TOO_BIG}",
        f"/bins/{bin_id}/requests/{request_id}/compare?a={TOO_BIG}&b=1",
        f"/bins/{bin_id}/events?after={TOO_BIG}",
        f"/api/bins/{bin_id}/stream?after={TOO_BIG}",
    ):
        response = client.get(path)
        assert response.status_code in (400, 404), (path, response.status_code, response.text)
        assert response.json()["detail"], path
    assert client.delete(f"/api/bins/{bin_id}/requests/{TOO_BIG}").status_code in (400, 404)


@pytest.mark.parametrize("last_event_id", [TOO_BIG, "12abc", "-1", "1.5"])
def test_a_last_event_id_that_is_no_request_id_is_refused(
    server: ServerProcess, client: httpx.Client, bin_id: str, last_event_id: str
) -> None:
    for path in (f"/bins/{bin_id}/events", f"/api/bins/{bin_id}/stream", f"/b/{bin_id}"):
        headers = {"Last-Event-ID": last_event_id, "Accept": "text/event-stream"}
        with httpx.stream("GET", f"{server.url}{path}", headers=headers, timeout=5) as stream:
            assert stream.status_code == 400, path
            stream.read()
            assert "Last-Event-ID" in stream.json()["detail"]


# -- search --------------------------------------------------------------------------------------


def _send(client: httpx.Client, method: str, url: str, **kwargs: object) -> int:
    response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return int(response.headers["x-inspector-request-id"])


@pytest.fixture
def searchable(client: httpx.Client, bin_id: str) -> dict[str, int]:
    """One capture of each kind the filters tell apart, over HTTP; their ids by name."""
    base = f"/b/{bin_id}"
    return {
        "get": _send(client, "GET", f"{base}/orders/1?status=paid&x=", headers={"x-tag": "1"}),
        "stripe": _send(
            client,
            "PUT",
            f"{base}/orders/2",
            json={
                "id": "evt_1",
                "object": "event",
                "type": "invoice.paid",
                "data": {"object": {"id": "o_1"}},
            },
            headers={"stripe-signature": "t=1,v1=00"},
        ),
        "github": _send(
            client,
            "POST",
            f"{base}/gh",
            json={"ref": "main", "n": 3},
            headers={"x-github-event": "push", "x-github-delivery": "d-1"},
        ),
        "binary": _send(
            client,
            "POST",
            f"{base}/files/a.bin",
            content=b"\x00\xff NeEdLe \x01" * 100,
            headers={"content-type": "application/octet-stream"},
        ),
        "text": _send(
            client,
            "PROPFIND",
            f"{base}/notes/deep/x",
            content="Hello needle wörld".encode(),
            headers={"content-type": "text/plain; charset=utf-8", "x-tag": "2"},
        ),
    }


def _all_pages(client: httpx.Client, bin_id: str, params: list[tuple[str, str]], limit: int = 1) -> list[int]:
    seen: list[int] = []
    before: int | None = None
    for _ in range(50):  # bounded: a handful of captures in pages of one
        page_params = [*params, ("limit", str(limit))] + ([("before", str(before))] if before else [])
        response = client.get(f"/api/bins/{bin_id}/requests", params=page_params)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        if page["next"] is None:
            return seen
        before = page["next"]
    raise AssertionError("paging did not end")


HTTP_FILTERS = [
    ([("method", "PUT")], ["stripe"]),
    ([("method", "get"), ("method", "PROPFIND")], ["get", "text"]),
    ([("path", "/orders/*")], ["get", "stripe"]),
    ([("q", "needle")], ["binary", "text"]),
    ([("header", "x-tag:2")], ["text"]),
    ([("header", "x-tag:")], ["get", "text"]),
    ([("query", "status:paid")], ["get"]),
    ([("json", "data.object.id:o_1")], ["stripe"]),
    ([("json", "n:3")], ["github"]),
    ([("content_type", "application/json")], ["stripe", "github"]),
    ([("min_size", "1000")], ["binary"]),
    ([("max_size", "0")], ["get"]),
    ([("provider", "github"), ("event", "push")], ["github"]),
    ([("event", "invoice.paid")], ["stripe"]),
    ([("signature", "unchecked"), ("method", "PUT")], ["stripe"]),
    ([("signature", "valid")], []),
    ([("forward", "pending")], []),
    ([("method", "POST"), ("q", "needle"), ("min_size", "10")], ["binary"]),
]


@pytest.mark.parametrize(("params", "expected"), HTTP_FILTERS, ids=[str(p) for p, _ in HTTP_FILTERS])
def test_filters_over_http_with_filtered_pages(
    client: httpx.Client, bin_id: str, searchable: dict[str, int], params: list, expected: list[str]
) -> None:
    wanted = sorted((searchable[name] for name in expected), reverse=True)
    assert _all_pages(client, bin_id, params) == wanted
    assert _all_pages(client, bin_id, params, limit=500) == wanted


def test_time_filters(client: httpx.Client, bin_id: str) -> None:
    first = _send(client, "POST", f"/b/{bin_id}/a")
    middle = client.get(f"/api/bins/{bin_id}/requests/{first}").json()["received_at"]
    second = _send(client, "POST", f"/b/{bin_id}/b")
    assert _all_pages(client, bin_id, [("since", middle)]) == [second, first]
    assert _all_pages(client, bin_id, [("until", middle)]) == [first]
    assert _all_pages(client, bin_id, [("since", "2999-01-01T00:00:00Z")]) == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("methd=GET", "unknown parameter: methd"),
        ("foo=1&bar=2&method=GET", "unknown parameters: bar, foo"),
        ("signature=maybe", "signature must be one of valid, invalid, unchecked"),
        ("forward=lost", "forward must be one of"),
        ("min_size=big", "min_size must be a whole number"),
        ("since=yesterday", "since must be an ISO 8601 time"),
        ("header=:x", "header must be NAME:VALUE"),
        ("q=a&q=b", "q may be given once"),
        ("path=" + "*" * 300, "path takes at most"),
        ("limit=0", "limit"),
    ],
)
def test_bad_filters_are_a_400_naming_them(
    client: httpx.Client, bin_id: str, query: str, fragment: str
) -> None:
    response = client.get(f"/api/bins/{bin_id}/requests?{query}")
    assert response.status_code == 400
    assert fragment in response.text


def test_filtered_paging_across_many_captures_has_no_gap_or_repeat(client: httpx.Client, bin_id: str) -> None:
    ids = [
        _send(client, "PUT" if i % 3 == 0 else "POST", f"/b/{bin_id}/n/{i}", content=b"x") for i in range(40)
    ]
    puts = [rid for i, rid in enumerate(ids) if i % 3 == 0]
    assert _all_pages(client, bin_id, [("method", "PUT")], limit=4) == puts[::-1]


# -- exports and imports ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def har_validator(tmp_path_factory: pytest.TempPathFactory) -> Callable[[bytes], str]:
    """The real har-validator from npm: a function that answers "" for a valid HAR log, else the errors."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm is not installed: the HAR validity test needs har-validator")
    folder = tmp_path_factory.mktemp("har")
    install = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), "har-validator@5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if install.returncode != 0:
        pytest.skip(f"npm could not install har-validator: {install.stderr[-500:]}")
    script = folder / "validate.js"
    script.write_text(
        "const validate = require('har-validator');\n"
        "let input = '';\n"
        "process.stdin.on('data', (c) => { input += c; });\n"
        "process.stdin.on('end', () => validate.har(JSON.parse(input))"
        ".then(() => process.exit(0))"
        ".catch((e) => { console.log(JSON.stringify(e.errors || String(e))); process.exit(1); }));\n"
    )

    def check(har: bytes) -> str:
        done = subprocess.run(
            ["node", str(script)], input=har, capture_output=True, timeout=60, cwd=folder, check=False
        )
        return "" if done.returncode == 0 else (done.stdout + done.stderr).decode()

    return check


@pytest.fixture
def varied(server: ServerProcess, client: httpx.Client, bin_id: str) -> list[int]:
    """Captures that test exactness: binary, duplicate headers, PROPFIND, non-UTF-8 header bytes, forms."""
    ids = [
        _send(client, "POST", f"/b/{bin_id}/bin%2Fary//x?b=1&b=2&c", content=bytes(range(256)) * 3),
        _send(
            client,
            "PROPFIND",
            f"/b/{bin_id}/dav",
            content=b"<?xml version='1.0'?><propfind xmlns='DAV:'/>",
            headers=[("depth", "1"), ("x-dup", "a"), ("X-Dup", "b"), ("x-dup", "a")],
        ),
        _send(client, "POST", f"/b/{bin_id}/form", data={"a": "é", "b": "&="}),
        _send(client, "PUT", f"/b/{bin_id}/json", json={"type": "invoice.paid", "emoji": "☃"}),
        _send(client, "GET", f"/b/{bin_id}"),
    ]
    answer = send_raw(
        server.url,
        f"POST /b/{bin_id}/raw HTTP/1.1\r\nHost: x\r\nX-Bytes: caf\xe9 \xff\r\nX-Utf8: ".encode("latin-1")
        + "café".encode()
        + b"\r\nContent-Length: 3\r\n\r\n\x00\x01\x02",
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer
    ids.append(int(re.search(rb"x-inspector-request-id: (\d+)", answer).group(1)))
    return ids


def _exact(client: httpx.Client, bin_id: str) -> list[tuple]:
    """Each capture of a bin as the bytes that matter, oldest first."""
    out = []
    for item in reversed(client.get(f"/api/bins/{bin_id}/requests", params={"limit": 500}).json()["items"]):
        record = client.get(f"/api/bins/{bin_id}/requests/{item['id']}").json()
        body = client.get(f"/api/bins/{bin_id}/requests/{item['id']}/body").content
        headers = [tuple(h) for h in record["headers"]]
        out.append(
            (record["method"], record["sub_path"], record["query"], headers, body, record["received_at"])
        )
    return out


@pytest.mark.parametrize("fmt", ["har", "ndjson"])
def test_a_bin_exported_and_imported_comes_back_byte_exact(
    client: httpx.Client, bin_id: str, varied: list[int], har_validator, fmt: str
) -> None:
    exported = client.get(f"/api/bins/{bin_id}/export", params={"format": fmt})
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    if fmt == "har":
        assert har_validator(exported.content) == ""
        assert len(json.loads(exported.content)["log"]["entries"]) == len(varied)
    else:
        lines = exported.content.splitlines()
        assert [json.loads(line)["id"] for line in lines] == varied  # the API's own record, oldest first
    other = client.post("/api/bins").json()["id"]
    imported = client.post(
        f"/api/bins/{other}/import",
        content=exported.content,
        headers={"content-type": exported.headers["content-type"]},
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["imported"] == len(varied)
    original, copy = _exact(client, bin_id), _exact(client, other)
    if fmt == "har":  # HAR keeps times to the millisecond
        original = [row[:5] for row in original]
        copy = [row[:5] for row in copy]
    assert copy == original


def test_each_request_exports_in_every_format(
    server: ServerProcess, client: httpx.Client, bin_id: str, varied: list[int], har_validator
) -> None:
    for request_id in varied:
        har = client.get(f"/api/bins/{bin_id}/requests/{request_id}/export?format=har")
        assert har.status_code == 200 and har_validator(har.content) == ""
        record = client.get(f"/api/bins/{bin_id}/requests/{request_id}/export?format=json").json()
        assert record == client.get(f"/api/bins/{bin_id}/requests/{request_id}").json()
    raw = client.get(f"/api/bins/{bin_id}/requests/{varied[1]}/export?format=raw").content
    assert raw.startswith(f"PROPFIND /b/{bin_id}/dav HTTP/1.1\r\n".encode())
    assert b"\r\nx-dup: a\r\nX-Dup: b\r\nx-dup: a\r\n" in raw  # names as sent
    assert raw.endswith(b"\r\n\r\n<?xml version='1.0'?><propfind xmlns='DAV:'/>")
    binary = client.get(f"/api/bins/{bin_id}/requests/{varied[0]}/export?format=har").json()
    post = binary["log"]["entries"][0]["request"]["postData"]
    assert base64.b64decode(post["text"]) == bytes(range(256)) * 3 and post["_encoding"] == "base64"


@pytest.mark.parametrize("which", [0, 1, 2, 3])
def test_an_exported_curl_command_replayed_to_another_bin_gives_the_same_bytes(
    server: ServerProcess, client: httpx.Client, bin_id: str, varied: list[int], which: int
) -> None:
    request_id = varied[which]
    command = client.get(f"/api/bins/{bin_id}/requests/{request_id}/export?format=curl").text
    other = client.post("/api/bins").json()["id"]
    command = command.replace(f"{server.url}/b/{bin_id}", f"{server.url}/b/{other}")
    assert other in command
    done = subprocess.run(["sh", "-c", command], capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    original = _exact(client, bin_id)[which]
    (copy,) = _exact(client, other)
    # What curl writes itself (or is told to leave out), and hop-by-hop headers, which are never replayed.
    skip = {"host", "content-length", "user-agent", "accept", "connection"}
    assert copy[:3] == original[:3] and copy[4] == original[4]
    assert [h for h in copy[3] if h[0].lower() not in skip] == [
        h for h in original[3] if h[0].lower() not in skip
    ]


def test_a_filtered_bin_export(client: httpx.Client, bin_id: str, varied: list[int]) -> None:
    lines = client.get(
        f"/api/bins/{bin_id}/export?format=ndjson&method=PUT&method=PROPFIND"
    ).content.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [varied[1], varied[3]]


@pytest.mark.parametrize(
    ("url", "body", "fragment"),
    [
        ("/export?format=zip", None, "format"),
        ("/export?format=har&methd=GET", None, "unknown parameter: methd"),
        ("/import", b"", "nothing to import"),
        ("/import", b"{not json", "line 1 is not a request record"),
        (
            "/import",
            b'{"log": {"entries": [{"request": {"method": "GET"}}]}}',
            "request.url must be a string",
        ),
        (
            "/import",
            b'{"log": {"entries": [{"request": {"method": "GET", "url": "ftp://x/"}}]}}',
            "http(s) URL",
        ),
        (
            "/import",
            b'{"log": {"entries": [{"startedDateTime": "2026-01-01T00:00:00Z", "request": {"method": "G(T",'
            b' "url": "http://h/x", "headers": []}}]}}',
            "the method must be an HTTP token",
        ),
        (
            "/import",
            b'{"log": {"entries": [{"startedDateTime": "2026-01-01T00:00:00Z", "request": {"method": "GET",'
            b' "url": "http://h/x", "headers": [{"name": "x-a", "value": "1\\r\\nx-b: 2"}]}}]}}',
            "header 'x-a' is not one HTTP can carry",
        ),
    ],
)
def test_bad_exports_and_imports_are_a_400(
    client: httpx.Client, bin_id: str, url: str, body: bytes | None, fragment: str
) -> None:
    if body is None:
        response = client.get(f"/api/bins/{bin_id}{url}")
    else:
        response = client.post(
            f"/api/bins/{bin_id}{url}", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400, response.text
    assert fragment in response.text


def test_importing_into_a_private_bin_needs_its_token(client: httpx.Client) -> None:
    created = client.post("/api/bins", json={"private": True}).json()
    record = b'{"log": {"entries": []}}'
    json_type = {"content-type": "application/json"}
    assert (
        client.post(f"/api/bins/{created['id']}/import", content=record, headers=json_type).status_code == 401
    )
    answer = client.post(
        f"/api/bins/{created['id']}/import",
        content=record,
        headers={**json_type, "authorization": f"Bearer {created['token']}"},
    )
    assert answer.status_code == 201 and answer.json() == {"imported": 0, "ids": []}


# -- provider, event and duplicates --------------------------------------------------------------

DUPLICATE_SENDS = [
    ({"x-github-event": "push", "x-github-delivery": "72d3162e"}, b'{"ref": "main"}', "github", "push"),
    (
        {"x-shopify-topic": "orders/create", "x-shopify-webhook-id": "b54557e4"},
        b"{}",
        "shopify",
        "orders/create",
    ),
    (
        {"webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"},
        b'{"type": "user.created"}',
        "standard-webhooks",
        "user.created",
    ),
    (
        {"svix-id": "msg_p5jXN8AQM9LWM0D4loKWxJek"},
        b'{"type": "invoice.paid"}',
        "standard-webhooks",
        "invoice.paid",
    ),
    (
        {"stripe-signature": "t=1,v1=00", "content-type": "application/json"},
        b'{"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event", "type": "charge.succeeded"}',
        "stripe",
        "charge.succeeded",
    ),
]


@pytest.mark.parametrize(
    ("headers", "body", "provider", "event"), DUPLICATE_SENDS, ids=[s[2] for s in DUPLICATE_SENDS]
)
def test_a_repeated_delivery_is_a_duplicate_of_the_first(
    client: httpx.Client, bin_id: str, headers: dict, body: bytes, provider: str, event: str
) -> None:
    first = _send(client, "POST", f"/b/{bin_id}/hook", content=body, headers=headers)
    _send(client, "POST", f"/b/{bin_id}/hook", content=b'{"other": 1}')
    retry = _send(client, "POST", f"/b/{bin_id}/hook", content=body, headers=headers)
    record = client.get(f"/api/bins/{bin_id}/requests/{retry}").json()
    assert (record["provider"], record["event"], record["duplicate_of"]) == (provider, event, first)
    original = client.get(f"/api/bins/{bin_id}/requests/{first}").json()
    assert (original["provider"], original["duplicate_of"]) == (provider, None)
    items = client.get(f"/api/bins/{bin_id}/requests").json()["items"]
    newest = items[0]
    assert (newest["id"], newest["provider"], newest["event"], newest["duplicate_of"]) == (
        retry,
        provider,
        event,
        first,
    )
    assert _all_pages(client, bin_id, [("provider", provider), ("event", event)]) == [retry, first]
    page = client.get(f"/bins/{bin_id}").text
    assert f"duplicate of #{first}" in page
