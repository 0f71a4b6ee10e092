"""The request view and bin page in chromium: masking in every tab, and the words the page uses."""

from __future__ import annotations

import json
import time

import httpx
from conftest import ServerProcess
from playwright.sync_api import expect
from test_dashboard import capture, open_new_bin, open_request, open_settings

SECRET = "Bearer sender-secret-123"
SIGNATURE = "t=1,v1=abcdef0123456789"


def show_tab(page, request_id: int, name: str) -> str:
    page.click(f"#request-{request_id} [role=tab]:has-text('{name}')")
    return f"#tab-{name.lower()}-{request_id}"


def test_credentials_are_masked_in_every_tab_until_one_reveal(
    page, server: ServerProcess, client: httpx.Client, target
) -> None:
    bin_id = open_new_bin(page, server)
    request_id = capture(
        client,
        bin_id,
        "/masked",
        json={"ok": True},
        headers={"Authorization": SECRET, "Stripe-Signature": SIGNATURE, "X-Plain": "visible"},
    )
    page.wait_for_selector(f"#r-{request_id}")
    open_request(page, request_id)
    tabs = {name: show_tab(page, request_id, name) for name in ("Overview", "Raw", "cURL", "Replay")}

    def shown(tab: str) -> str:
        show_tab(page, request_id, tab)
        if tab == "Replay":
            return page.input_value(f"{tabs[tab]} textarea[name=headers]")
        return page.inner_text(tabs[tab])

    for tab in tabs:
        text = shown(tab)
        assert "sender-secret-123" not in text, tab
        assert "abcdef0123456789" not in text, tab
        assert "visible" in text, tab
        assert "••••••••" in text, tab

    page.click(f"#request-{request_id} [data-reveal]")  # one reveal for the whole request view
    for tab in tabs:
        text = shown(tab)
        assert SECRET in text, tab
        assert SIGNATURE in text, tab

    page.click(f"#request-{request_id} [data-reveal]")  # and masked again
    assert "sender-secret-123" not in shown("Raw")
    editor = shown("Replay")
    assert "sender-secret-123" not in editor and "••••••••" in editor

    # A value left masked in the replay editor is sent as captured, not as the mask.
    page.fill(f"{tabs['Replay']} input[name=target]", target.url)
    page.click(f"{tabs['Replay']} button[type=submit]")
    (received,) = target.wait_for(1)
    sent = {name.lower(): value for name, value in received.header_list()}
    assert sent["authorization"] == SECRET
    assert sent["stripe-signature"] == SIGNATURE
    attempt = page.wait_for_selector(f"#replay-result-{request_id} .attempt-result")
    attempt.query_selector("summary").click()
    assert "sender-secret-123" not in attempt.inner_text()

    # Copying the command copies what runs: the real values.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    show_tab(page, request_id, "cURL")
    page.click(f"{tabs['cURL']} [data-copy]")
    expect(page.locator(f"{tabs['cURL']} [data-copy]")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert f"Authorization: {SECRET}" in copied  # the name as sent
    assert "••••" not in copied


def test_raw_shows_utf8_as_text_and_says_what_the_server_changed(
    page, server: ServerProcess, client: httpx.Client
) -> None:
    bin_id = open_new_bin(page, server)
    request_id = capture(
        client,
        bin_id,
        "/utf8",
        content="sparkle ✨ café".encode(),
        headers=[("Content-Type", "text/plain; charset=utf-8"), ("X-Name", "✨".encode())],
    )
    page.wait_for_selector(f"#r-{request_id}")
    open_request(page, request_id)
    raw = page.inner_text(show_tab(page, request_id, "Raw") + " pre.raw")
    assert raw.endswith("sparkle ✨ café")
    assert "X-Name: ✨" in raw  # the name as sent
    assert "\\xe2" not in raw
    note = " ".join(page.inner_text(f"#tab-raw-{request_id}").split())
    assert "names as sent" in note and "lower case (its" not in note


def test_page_words(page, server: ServerProcess, client: httpx.Client) -> None:
    bin_id = open_new_bin(page, server)
    assert page.inner_text("#request-total") == "0 requests"
    opened = time.monotonic()
    first = capture(client, bin_id, "/empty", content=b"")
    expect(page.locator("#request-total")).to_have_text("1 request")
    capture(client, bin_id, "/second", content=b"x")
    expect(page.locator("#request-total")).to_have_text("2 requests")

    open_request(page, first)  # an empty body offers nothing to download
    assert page.locator(f"#request-{first} .request-actions a:has-text('Download body')").count() == 0
    xml = capture(
        client,
        bin_id,
        "/xml",
        content=b'<?xml version="1.0" encoding="UTF-8"?><a><b>1</b></a>',
        headers={"Content-Type": "application/xml"},
    )
    page.wait_for_selector(f"#r-{xml}")
    open_request(page, xml)
    assert page.inner_text(f"#request-{xml} pre.code").startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert page.locator(f"#request-{xml} .request-actions a:has-text('Download body')").count() == 1

    # Relative times refresh every 5 s: seconds after it opened, a new 7-day bin still expires
    # "in 7 d" (it read "in 6 d" as soon as 6 d 23 h 59 min 59 s were left).
    page.wait_for_timeout(max(0, 6 - (time.monotonic() - opened)) * 1000)
    assert page.inner_text(".bin-meta time") == "in 7 d"


def test_the_signed_test_request_curl_says_its_content_type(
    page, server: ServerProcess, client: httpx.Client
) -> None:
    open_new_bin(page, server)
    open_settings(page)
    form = page.locator("form[hx-post$='/sign']")
    form.locator("select[name=provider]").select_option("github")
    form.locator("input[name=secret]").fill("s3cret")
    form.locator("button[type=submit]").click()
    curl = page.wait_for_selector("#signed-curl").inner_text()
    assert "'Content-Type: application/json'" in curl


def test_compare_shows_what_differs_between_two_answers(
    page, server: ServerProcess, client: httpx.Client, recording_target
) -> None:
    def answer(recorded) -> tuple[int, list[tuple[str, str]], bytes]:
        if recorded.method == "PUT":
            return (
                201,
                [("Content-Type", "application/json"), ("X-Version", "2")],
                b'{"id": 1, "state": "new"}',
            )
        return 200, [("Content-Type", "application/json"), ("X-Version", "1")], b'{"id": 1, "state": "old"}'

    target = recording_target(answer)
    bin_id = open_new_bin(page, server)
    request_id = capture(client, bin_id, "/order", json={"id": 1})
    open_request(page, request_id)
    page.click(f"#request-{request_id} [role=tab]:has-text('Replay')")
    form = page.locator(f"#tab-replay-{request_id} form.replay-form")
    form.locator("input[name=target]").fill(target.url)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(f"#replay-result-{request_id} .attempt-result")
    form.locator("input[name=method]").fill("PUT")
    form.locator("button[type=submit]").click()
    expect(page.locator(f"#attempts-{request_id} tbody tr")).to_have_count(2)

    # Each radio button says what it picks; words are not broken mid-token.
    first, second = page.eval_on_selector_all(
        f"#attempts-{request_id} tbody tr", "rows => rows.map(r => r.id.replace('attempt-', ''))"
    )
    assert page.get_by_label(f"Attempt {first} as B").is_checked()
    assert page.get_by_label(f"Attempt {second} as A").is_checked()
    one_line = (
        "cell => { const r = new Range(); r.selectNodeContents(cell); return r.getClientRects().length }"
    )
    for cell in page.query_selector_all(f"#attempts-{request_id} td.kind"):
        assert cell.evaluate(one_line) == 1, cell.inner_text()

    page.click(f"#attempts-{request_id} button[type=submit]")
    compare = page.wait_for_selector(f"#replay-result-{request_id} .compare")
    status = compare.query_selector("table.diff-status tbody tr")
    assert status.get_attribute("class") == "changed"
    assert status.inner_text().split("\t")[1:] == ["200 Whatever", "201 Whatever"]
    headers = compare.eval_on_selector_all(
        "table.diff-headers tbody tr",
        "rows => rows.map(r => [r.className, ...[...r.cells].map(c => c.innerText)])",
    )
    assert ["changed", "x-version", "1", "2"] in headers
    assert all(row[1] != "content-type" for row in headers)  # the same on both sides: not listed
    removed = compare.eval_on_selector_all("pre.diff-body .removed", "lines => lines.map(l => l.textContent)")
    added = compare.eval_on_selector_all("pre.diff-body .added", "lines => lines.map(l => l.textContent)")
    assert removed == ['-   "state": "old"'] and added == ['+   "state": "new"']


def test_copy_buttons_for_headers_and_body(page, server: ServerProcess, client: httpx.Client) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    bin_id = open_new_bin(page, server)
    request_id = capture(client, bin_id, "/copy", json={"copy": "me"}, headers={"Authorization": SECRET})
    page.wait_for_selector(f"#r-{request_id}")
    open_request(page, request_id)
    page.click(f"#request-{request_id} h3:has-text('Headers') [data-copy]")
    headers = page.evaluate("navigator.clipboard.readText()").splitlines()
    assert f"Authorization: {SECRET}" in headers  # names as sent
    assert "Content-Type: application/json" in headers
    page.click(f"#request-{request_id} h3:has-text('Body') [data-copy]")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == {"copy": "me"}
