"""The dashboard in a real browser (Debian's chromium via Playwright): live rows, request views, safety."""

from __future__ import annotations

import base64
import gzip
import json
import signal
from pathlib import Path

import httpx
from conftest import ServerProcess, send_raw
from playwright.sync_api import expect


def open_new_bin(page, server: ServerProcess) -> str:
    page.goto(f"{server.url}/")
    page.click("#new-bin")
    page.wait_for_url("**/bins/*")
    page.wait_for_selector("#live-indicator[data-state=live]")
    return page.url.rsplit("/", 1)[1]


def capture(client: httpx.Client, bin_id: str, path: str = "/hook", **kwargs) -> int:
    response = client.post(f"/b/{bin_id}{path}", **kwargs)
    assert response.status_code == 200
    return int(response.headers["x-inspector-request-id"])


def open_request(page, request_id: int) -> None:
    page.click(f"#r-{request_id} a.open")
    page.wait_for_selector(f"#detail #request-{request_id}")


def open_settings(page) -> None:
    page.click("#open-settings")
    page.wait_for_selector("#detail #settings")


def test_new_bin_from_home_and_rows_appear_live(page, server: ServerProcess, client: httpx.Client) -> None:
    bin_id = open_new_bin(page, server)
    page.evaluate("window.notReloaded = true")
    ids = [capture(client, bin_id, f"/live/{n}", json={"n": n}) for n in range(3)]
    for request_id in ids:
        page.wait_for_selector(f"#rows #r-{request_id}")
    assert page.inner_text("#request-count") == "3"
    rows = page.eval_on_selector_all("#rows tr.row", "rows => rows.map(r => r.id)")
    assert rows == [f"r-{i}" for i in reversed(ids)]  # newest first
    assert "/live/2" in page.inner_text(f"#r-{ids[2]} .path")
    assert page.evaluate("window.notReloaded") is True

    page.goto(f"{server.url}/")  # the home page remembers the bin
    page.wait_for_selector(f"#recent-bins a[href='/bins/{bin_id}']")


def test_request_view_shows_each_kind_of_body(page, server: ServerProcess, client: httpx.Client) -> None:
    bin_id = open_new_bin(page, server)
    json_id = capture(
        client,
        bin_id,
        "/json?b=2&a=1&b=3",
        content=b'{"amount": 1.10, "ids": [12345678901234567890], "ok": true}',
        headers=[("content-type", "application/json"), ("x-dup", "one"), ("x-dup", "two")],
    )
    file_bytes = b"\x00\x01\xfe\xff" * 8
    multipart_id = capture(
        client, bin_id, "/upload", files={"doc": ("report.bin", file_bytes, "application/octet-stream")}
    )
    binary_id = capture(
        client, bin_id, "/bin", content=bytes(range(40)), headers={"content-type": "application/x-thing"}
    )
    gzip_id = capture(
        client,
        bin_id,
        "/gz",
        content=gzip.compress(b'{"zipped": "yes"}'),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    page.wait_for_selector(f"#r-{gzip_id}")

    open_request(page, json_id)
    assert page.url.endswith(f"/bins/{bin_id}/requests/{json_id}")
    headers = page.eval_on_selector_all(
        "#detail table.headers tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert [value for name, value in headers if name == "x-dup"] == ["one", "two"]
    query = page.eval_on_selector_all(
        "#detail table.query-params tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert query == [["b", "2"], ["a", "1"], ["b", "3"]]
    pretty = page.inner_text("#detail pre.json")
    assert '"amount": 1.10' in pretty  # pretty-printed, numbers exactly as sent
    assert "12345678901234567890" in pretty
    assert page.locator("#detail pre.json .t-key").count() == 3

    open_request(page, multipart_id)
    part = page.locator("#detail .part").first
    assert "report.bin" in part.inner_text()
    href = part.locator("a").get_attribute("href")
    assert client.get(href).content == file_bytes

    open_request(page, binary_id)
    first_row = page.inner_text("#detail table.hexdump tr:first-child")
    assert first_row.startswith("00000000")
    assert "00 01 02 03" in first_row

    open_request(page, gzip_id)
    assert '"zipped": "yes"' in page.inner_text("#detail pre.json")
    assert "decoded for display" in page.inner_text("#detail .body-facts")

    page.click("#detail [role=tab]:has-text('Raw')")
    raw = page.inner_text(f"#tab-raw-{gzip_id} pre.raw")
    assert raw.startswith(f"POST /b/{bin_id}/gz HTTP/1.1")
    assert "\\x1f\\x8b" in raw  # the gzip magic, shown as escapes: the wire bytes, not the decoded body
    page.click("#detail [role=tab]:has-text('cURL')")
    assert "base64 -d | curl" in page.inner_text(f"#curl-{gzip_id}")

    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAIAAAA2iEnWAAAAEElEQVR4nGP4z8AARAwoFABE0AX7pM/egAAAAABJRU5ErkJggg=="
    )
    image_id = capture(client, bin_id, "/img", content=png, headers={"content-type": "image/png"})
    page.wait_for_selector(f"#r-{image_id}")
    open_request(page, image_id)
    size = page.eval_on_selector(
        "#detail img.preview", "img => img.complete && [img.naturalWidth, img.naturalHeight]"
    )
    assert size == [2, 3]  # the real image, decoded by the browser under the page's CSP

    page.goto(f"{server.url}/bins/{bin_id}/requests/{json_id}")  # a request's own URL renders the whole page
    assert page.locator(f"#detail #request-{json_id}").count() == 1


def test_keyboard_navigation(page, server: ServerProcess, client: httpx.Client) -> None:
    bin_id = open_new_bin(page, server)
    first, second = (capture(client, bin_id, f"/k{n}") for n in range(2))
    page.wait_for_selector(f"#r-{second}")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#detail #request-{first}")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#detail #request-{second}")


def test_large_bins_load_in_pages(page, server: ServerProcess, client: httpx.Client) -> None:
    bin_id = client.post("/api/bins").json()["id"]
    for n in range(120):
        capture(client, bin_id, f"/n{n}")
    page.goto(f"{server.url}/bins/{bin_id}")
    assert page.locator("#rows tr.row").count() == 50
    page.click("#more-rows button")
    expect(page.locator("#rows tr.row")).to_have_count(100)
    page.click("#more-rows button")
    expect(page.locator("#rows tr.row")).to_have_count(120)
    assert page.locator("#more-rows").count() == 0
    assert page.inner_text("#request-count") == "120"


def test_deletions_update_every_open_page(browser, server: ServerProcess, client: httpx.Client) -> None:
    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    for page in (first, second):
        page.on("dialog", lambda dialog: dialog.accept())
    bin_id = client.post("/api/bins").json()["id"]
    keep, drop = capture(client, bin_id, "/keep"), capture(client, bin_id, "/drop")
    for page in (first, second):
        page.goto(f"{server.url}/bins/{bin_id}/requests/{drop}")
        page.wait_for_selector("#live-indicator[data-state=live]")

    first.click(f"#request-{drop} button.danger")  # delete one request
    for page in (first, second):
        page.wait_for_selector(f"#r-{drop}", state="detached")
        page.wait_for_selector(f"#request-{drop} >> text=This request was deleted.")
        assert page.inner_text("#request-count") == "1"

    open_settings(second)
    second.click("button:text-is('Clear')")
    for page in (first, second):
        page.wait_for_selector(f"#r-{keep}", state="detached")
        expect(page.locator("#request-count")).to_have_text("0")

    open_settings(first)
    first.click("button:text-is('Delete bin')")
    for page in (first, second):
        page.wait_for_selector("#bin-status >> text=This bin was deleted")
    assert client.get(f"/api/bins/{bin_id}").status_code == 404
    context.close()


def test_missed_rows_appear_after_the_server_restarts(page, start_server, tmp_path: Path) -> None:
    db_path = tmp_path / "restart.db"
    server = start_server("--access-log", db_path=db_path)
    bin_id = open_new_bin(page, server)
    before = capture(httpx.Client(base_url=server.url), bin_id, "/before")
    page.wait_for_selector(f"#r-{before}")

    # Hold back the page's reconnection attempts until the capture below is stored, so the new row
    # can only reach the page through the catch-up that follows its reconnection.
    page.route("**/events?*", lambda route: route.abort())
    server.stop(signal.SIGTERM)
    page.wait_for_selector("#live-indicator[data-state=reconnecting]")
    restarted = start_server("--access-log", db_path=db_path, port=server.port)
    missed = capture(httpx.Client(base_url=restarted.url), bin_id, "/while-away")
    page.unroute("**/events?*")
    page.wait_for_selector(f"#rows #r-{missed}", timeout=20_000)
    page.wait_for_selector("#live-indicator[data-state=live]")
    assert page.locator(f"#rows #r-{before}").count() == 1  # nothing duplicated
    # Both runs log to one file: read what the restarted server saw, in order.
    log = restarted.log.splitlines()
    since_restart = log[max(n for n, line in enumerate(log) if "Started server process" in line) :]
    posts = [n for n, line in enumerate(since_restart) if "POST /b/" in line and "/while-away" in line]
    reconnects = [n for n, line in enumerate(since_restart) if f"GET /bins/{bin_id}/events" in line]
    assert posts and reconnects and posts[0] < reconnects[0]


XSS = "<script>alert('xss')</script>"


def test_captured_payloads_render_as_text(page, server: ServerProcess, client: httpx.Client) -> None:
    bin_id = open_new_bin(page, server)
    body = json.dumps({"html": "</pre><img src=x onerror=alert(1)>", "script": XSS}).encode()
    raw = (
        f"POST /b/{bin_id}/<img/src=x/onerror=alert(2)>?q=<script>alert(3)</script> HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nX-Evil: {XSS}\r\nX-Img: <img src=x onerror=alert(4)>\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    assert send_raw(server.url, raw).startswith(b"HTTP/1.1 200")
    html_id = capture(client, bin_id, "/html", content=XSS.encode(), headers={"content-type": "text/html"})

    page.wait_for_selector(f"#r-{html_id}")
    row = page.locator("#rows tr.row").nth(1)
    assert "<img/src=x/onerror=alert(2)>" in row.inner_text()
    row.locator("a.open").click()
    page.wait_for_selector("#detail article")
    text = page.inner_text("#detail")
    assert XSS in text
    assert "<img src=x onerror=alert(4)>" in text
    assert "</pre><img src=x onerror=alert(1)>" in text
    open_request(page, html_id)
    assert XSS in page.inner_text("#detail")
    page.click("#detail [role=tab]:has-text('Raw')")
    page.wait_for_timeout(300)

    assert page.dialogs == []
    assert page.locator("#detail img, #rows img").count() == 0
    scripts = page.eval_on_selector_all("script", "nodes => nodes.map(n => n.getAttribute('src'))")
    assert all(src and src.startswith("/static/") for src in scripts)
    response = page.goto(f"{server.url}/bins/{bin_id}/requests/{html_id}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.dialogs == []


def test_check_signature_panel_and_live_badges(page, server: ServerProcess, client: httpx.Client) -> None:
    secret = "It's a Secret to Everybody"
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"  # GitHub's example
    bin_id = open_new_bin(page, server)
    first = capture(
        client, bin_id, "/gh", content=b"Hello, World!", headers={"X-Hub-Signature-256": signature}
    )
    page.wait_for_selector(f"#r-{first}")
    open_request(page, first)
    page.click("#detail [role=tab]:has-text('Check signature')")
    assert page.input_value(f"#tab-signature-{first} select[name=provider]") == "github"  # detected

    page.fill(f"#tab-signature-{first} input[name=secret]", "not the secret")
    page.click(f"#tab-signature-{first} button[type=submit]")
    verdict = page.wait_for_selector(f"#verdict-{first} .verdict.bad")
    assert "Invalid github signature" in verdict.inner_text()
    assert "Hello, World!" in page.inner_text(f"#verdict-{first} .signed-payload")

    page.fill(f"#tab-signature-{first} input[name=secret]", secret)
    page.check(f"#tab-signature-{first} input[name=remember]")
    page.click(f"#tab-signature-{first} button[type=submit]")
    page.wait_for_selector(f"#verdict-{first} .verdict.ok")
    page.wait_for_selector(f"#sig-{first} .badge.ok")  # the request it was tried on, at once

    # From now on, each new request is checked on arrival and its row says so, live.
    second = capture(
        client, bin_id, "/gh", content=b"Hello, World!", headers={"X-Hub-Signature-256": signature}
    )
    third = capture(
        client, bin_id, "/gh", content=b"Hello, World?", headers={"X-Hub-Signature-256": signature}
    )
    expect(page.locator(f"#sig-{second} .badge.ok")).to_have_text("✓ github")
    expect(page.locator(f"#sig-{third} .badge.bad")).to_have_text("✗ github")
    assert page.dialogs == []


def test_edit_and_replay_then_compare(page, server: ServerProcess, client: httpx.Client, target) -> None:
    bin_id = open_new_bin(page, server)
    request_id = capture(client, bin_id, "/order", json={"id": 1}, headers={"X-Shop": "demo"})
    open_request(page, request_id)
    page.click("#detail [role=tab]:has-text('Replay')")
    form = page.locator(f"#tab-replay-{request_id} form")
    form.locator("input[name=target]").fill(f"{target.url}/hooks")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(f"#replay-result-{request_id} .attempt-result")
    first = target.wait_for(1)[0]
    assert first.request_line == b"POST /hooks/order HTTP/1.1"
    assert first.body == b'{"id":1}'

    form.locator("input[name=method]").fill("PUT")
    form.locator("textarea[name=headers]").fill("X-Shop: edited\nContent-Type: application/json")
    form.locator("input[name=edit_body]").check()
    form.locator("textarea[name=body]").fill('{"id": 2}')
    form.locator("button[type=submit]").click()
    second = target.wait_for(2)[1]
    assert second.request_line == b"PUT /hooks/order HTTP/1.1"
    assert second.body == b'{"id": 2}'
    assert ("X-Shop", "edited") in [(n.decode(), v.decode()) for n, v in second.headers]

    expect(page.locator(f"#attempts-{request_id} tbody tr")).to_have_count(2)
    page.click(f"#attempts-{request_id} button[type=submit]")
    panes = page.locator(f"#replay-result-{request_id} .compare section")
    expect(panes).to_have_count(2)
    assert "200" in panes.nth(0).text_content()  # in full, under "Both answers in full"
    assert page.locator(f"#replay-result-{request_id} .compare table.diff-status").count() == 1
    assert page.dialogs == []


def test_replay_can_re_sign_with_a_test_secret(
    page, server: ServerProcess, client: httpx.Client, target
) -> None:
    import stripe

    secret = "whsec_testSecretForReplays123"
    bin_id = open_new_bin(page, server)
    stale = "t=1000000000,v1=0000000000000000000000000000000000000000000000000000000000000000"
    request_id = capture(
        client, bin_id, "/stripe", content=b'{"id":"evt_1"}', headers={"Stripe-Signature": stale}
    )
    open_request(page, request_id)
    page.click("#detail [role=tab]:has-text('Replay')")
    form = page.locator(f"#tab-replay-{request_id} form")
    form.locator("input[name=target]").fill(target.url)
    form.locator("summary:has-text('Re-sign')").click()
    assert form.locator("select[name=sign_provider]").input_value() == "stripe"  # detected
    form.locator("input[name=sign_secret]").fill(secret)
    form.locator("button[type=submit]").click()
    (received,) = target.wait_for(1)
    headers = {name.decode().lower(): value.decode() for name, value in received.headers}
    assert [name.lower() for name, _ in received.headers].count(
        b"stripe-signature"
    ) == 1  # replaced, not added
    assert headers["stripe-signature"] != stale
    # Stripe's own SDK accepts the fresh signature over the exact bytes that arrived.
    event = stripe.Webhook.construct_event(received.body.decode(), headers["stripe-signature"], secret)
    assert event["id"] == "evt_1"


def test_private_bins_response_form_and_masked_headers(browser, start_server) -> None:
    server = start_server("--private-bins")
    owner_context, stranger_context = browser.new_context(), browser.new_context()
    owner, stranger = owner_context.new_page(), stranger_context.new_page()
    owner.on("dialog", lambda dialog: dialog.accept())
    try:
        bin_id = open_new_bin(owner, server)  # the owner's browser keeps the token in a cookie
        assert "private" in owner.inner_text(".bin-meta")

        stranger.goto(f"{server.url}/bins/{bin_id}")
        assert "This bin is private" in stranger.inner_text("main")

        open_settings(owner)
        form = owner.locator("#response-form form")
        form.locator("input[name=custom]").check()
        form.locator("input[name=status]").fill("418")
        form.locator("input[name=content_type]").fill("text/plain")
        form.locator("textarea[name=body]").fill("teapot for {{method}}")
        form.locator("button[type=submit]").click()
        owner.wait_for_selector("#response-form >> text=Saved.")
        answer = httpx.post(
            f"{server.url}/b/{bin_id}/x", headers={"Authorization": "Bearer sender-secret-123"}
        )
        assert (answer.status_code, answer.text) == (418, "teapot for POST")  # senders need no token

        request_id = int(answer.headers["x-inspector-request-id"])
        owner.wait_for_selector(f"#r-{request_id}")
        open_request(owner, request_id)
        row = owner.locator("#detail table.headers tr", has_text="authorization")
        assert "sender-secret-123" not in row.inner_text()
        owner.click("#detail [data-reveal]")
        assert "Bearer sender-secret-123" in row.inner_text()

        share = owner.context.request.post(f"{server.url}/api/bins/{bin_id}/share").json()
        stranger.goto(share["share_url"])
        stranger.wait_for_selector(f"#r-{request_id}")
        stranger.goto(f"{server.url}/bins/{bin_id}")  # the share link is remembered
        stranger.wait_for_selector(f"#r-{request_id}")
    finally:
        owner_context.close()
        stranger_context.close()


def test_the_filter_bar_filters_rows_pages_and_the_live_stream(
    page, server: ServerProcess, client: httpx.Client
) -> None:
    bin_id = client.post("/api/bins").json()["id"]
    orders = []
    for n in range(60):
        orders.append(capture(client, bin_id, f"/orders/{n}", json={"n": n}))
        capture(client, bin_id, f"/other/{n}")
    page.goto(f"{server.url}/bins/{bin_id}")
    page.click(".filter-bar summary")  # the path is one of the filters behind "More filters"
    page.fill(".filter-bar input[name=path]", "/orders/*")
    page.click(".filter-bar button[type=submit]")
    page.wait_for_url("**path=%2Forders%2F*")
    page.wait_for_selector("#live-indicator[data-state=live]")
    shown = page.eval_on_selector_all("#rows tr.row", "rows => rows.map(r => Number(r.dataset.requestId))")
    assert shown == orders[::-1][:50]
    page.click("#more-rows button")  # older rows keep the filter
    expect(page.locator("#rows tr.row")).to_have_count(60)
    capture(client, bin_id, "/other/live")
    live = capture(client, bin_id, "/orders/live")
    page.wait_for_selector(f"#rows #r-{live}")
    assert page.locator("#rows tr.row").count() == 61  # the capture to /other/live never showed
    assert page.input_value(".filter-bar input[name=path]") == "/orders/*"

    page.goto(f"{server.url}/bins/{bin_id}?methd=GET")  # a typo is said, and everything is shown
    assert "unknown parameter: methd" in page.inner_text(".filter-bar .error")
    assert page.locator("#rows tr.row").count() == 50


def test_a_request_downloads_in_each_export_format(page, server: ServerProcess, client: httpx.Client) -> None:
    bin_id = client.post("/api/bins").json()["id"]
    request_id = capture(client, bin_id, "/dl", json={"a": 1})
    page.goto(f"{server.url}/bins/{bin_id}")
    open_request(page, request_id)
    for label, start in (
        ("HAR", b'{"log":'),
        ("Raw HTTP", f"POST /b/{bin_id}/dl ".encode()),
        ("cURL", b"curl "),
    ):
        with page.expect_download() as download:
            page.click(f"#request-{request_id} a.export:text-is('{label}')")
        assert Path(download.value.path()).read_bytes().startswith(start)
