"""The bin page's layout in chromium at 1440x900 and 390x844: nothing overflows, rows open on a click,
the newest opens by itself when asked, the title counts unseen requests, a phone has two screens.

With INSPECTOR_SCREENSHOTS=DIR set, the tests save the README's pictures in DIR.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

import httpx
from conftest import ServerProcess
from playwright.sync_api import expect
from test_dashboard import capture, open_request, open_settings
from test_dashboard_live import console_errors, wait_until

GITHUB_SECRET = "layout-secret"

# No element may be wider than its box: the list, its cells, the tabs, the page itself.
OVERFLOWS = """() => [...document.querySelectorAll(
    'body, .workspace, .list, .detail-pane, .tabs, #rows td.path, #rows td.when, #rows td.badges')]
  .filter((element) => element.offsetParent !== null || element === document.body)
  .filter((element) => element.scrollWidth > element.clientWidth + 1)
  .map((element) => `${element.className} ${element.scrollWidth} > ${element.clientWidth}`)"""


def screenshot(page, name: str) -> None:
    if directory := os.environ.get("INSPECTOR_SCREENSHOTS"):
        # caret="initial": hiding the caret injects an inline style, which the page's CSP refuses
        # (a console error the tests would count).
        page.screenshot(path=str(Path(directory) / name), caret="initial")


def github_signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Event": "push",
        "Content-Type": "application/json",
    }


def busy_bin(client: httpx.Client, target_url: str, count: int = 60) -> tuple[str, list[int]]:
    """A bin that forwards and checks signatures, with `count` mixed captures."""
    bin_id = client.post("/api/bins").json()["id"]
    client.put(f"/api/bins/{bin_id}/forward", json={"targets": [f"{target_url}/in"]})
    client.put(f"/api/bins/{bin_id}/secrets/github", json={"secret": GITHUB_SECRET})
    ids = []
    for n in range(count):
        body = json.dumps(
            {"n": n, "action": "opened", "repository": {"name": "a-long-repository-name"}}
        ).encode()
        if n % 3 == 0:
            headers = github_signed(body)
        elif n % 3 == 1:
            headers = {**github_signed(body), "X-Hub-Signature-256": "sha256=" + "0" * 64}
        else:
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer t0ken"}
            body = f"n={n}&state=paid".encode()
        ids.append(capture(client, bin_id, f"/webhooks/orders/{n}/events", content=body, headers=headers))
    return bin_id, ids


def test_a_session_at_1440_without_console_errors(
    browser, server: ServerProcess, client: httpx.Client, target
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    errors = console_errors(page)
    try:
        bin_id, ids = busy_bin(client, target.url)
        wait_until(lambda: len(target.requests) == 60, timeout=40)
        page.goto(f"{server.url}/bins/{bin_id}")
        page.wait_for_selector("#live-indicator[data-state=live]")
        newest = ids[-3]  # signed, checked and forwarded
        expect(page.locator(f"#sig-{newest} .badge")).to_have_text("✓ github")
        expect(page.locator(f"#fwd-{newest} .badge")).to_have_text("↗ 1/1")
        assert page.evaluate(OVERFLOWS) == []
        # Badges have a column of their own: the path keeps its room and "When" is never cut.
        assert page.eval_on_selector(f"#r-{newest} td.path", "cell => cell.clientWidth") > 200
        assert (
            page.eval_on_selector(f"#r-{newest} td.badges .badge", "b => b.closest('td').className")
            == "badges"
        )
        list_box = page.eval_on_selector(".list", "list => list.getBoundingClientRect().bottom")
        assert list_box > 800  # a full-height column, not a box below the settings

        # A click anywhere on a row opens it.
        page.click(f"#r-{ids[-3]} td.num")
        page.wait_for_selector(f"#detail #request-{ids[-3]}")
        assert page.url.endswith(f"/requests/{ids[-3]}")
        screenshot(page, "bin-page.png")
        for tab in ("Raw", "cURL", "Replay", "Check signature", "Overview"):
            page.click(f"#request-{ids[-3]} [role=tab]:has-text('{tab}')")
            assert page.evaluate(OVERFLOWS) == [], tab

        # Replay twice and compare.
        page.click(f"#request-{ids[-3]} [role=tab]:has-text('Replay')")
        form = page.locator(f"#tab-replay-{ids[-3]} form.replay-form")
        form.locator("input[name=target]").fill(f"{target.url}/replayed")
        form.locator("button[type=submit]").click()
        page.wait_for_selector(f"#replay-result-{ids[-3]} .attempt-result")
        form.locator("input[name=method]").fill("PUT")
        form.locator("button[type=submit]").click()
        expect(page.locator(f"#attempts-{ids[-3]} tbody tr")).to_have_count(3)  # the forward and two replays
        page.click(f"#attempts-{ids[-3]} button[type=submit]")
        page.wait_for_selector(f"#replay-result-{ids[-3]} .compare")
        assert page.evaluate(OVERFLOWS) == []

        # The newest request opens by itself when asked, and the choice is remembered.
        page.check("#open-newest")
        page.reload()
        page.wait_for_selector("#live-indicator[data-state=live]")
        assert page.is_checked("#open-newest")
        arrived = capture(client, bin_id, "/auto-open", json={"auto": True})
        page.wait_for_selector(f"#detail #request-{arrived}")

        # The title counts requests that arrive while the tab is in the background.
        title = page.title()
        page.uncheck("#open-newest")
        page.evaluate(
            "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
            "document.dispatchEvent(new Event('visibilitychange'))"
        )
        unseen = [capture(client, bin_id, f"/unseen/{n}") for n in range(2)]
        page.wait_for_selector(f"#r-{unseen[-1]}")
        expect(page).to_have_title(f"(2) {title}")
        page.evaluate(
            "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
            "document.dispatchEvent(new Event('visibilitychange'))"
        )
        expect(page).to_have_title(title)

        # Share, then delete.
        open_settings(page)
        screenshot(page, "bin-settings.png")
        page.click("#sharing button:has-text('Make a share link')")
        page.click("#sharing [data-copy]")
        assert "share=" in page.evaluate("navigator.clipboard.readText()")
        page.click("button:text-is('Delete bin')")
        page.wait_for_selector("#bin-status >> text=This bin was deleted")
        assert errors == []
    finally:
        context.close()


def test_a_phone_has_the_list_first_and_the_detail_as_its_own_screen(
    browser, server: ServerProcess, client: httpx.Client, target
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = console_errors(page)
    try:
        bin_id, ids = busy_bin(client, target.url, count=12)
        page.goto(f"{server.url}/bins/{bin_id}")
        page.wait_for_selector("#live-indicator[data-state=live]")
        expect(page.locator(f"#fwd-{ids[-3]} .badge")).to_have_text("↗ 1/1")
        expect(page.locator(f"#sig-{ids[-3]} .badge")).to_have_text("✓ github")
        assert page.is_visible(".list") and not page.is_visible(".detail-pane")
        assert page.evaluate(OVERFLOWS) == []
        assert page.eval_on_selector(f"#r-{ids[-3]} td.path", "cell => cell.clientWidth") > 100
        when = page.inner_text(f"#r-{ids[-1]} td.when")
        assert when.endswith("ago") or when == "just now"
        screenshot(page, "bin-page-phone.png")

        page.tap(f"#r-{ids[-1]} td.when")
        page.wait_for_selector(f"#detail #request-{ids[-1]}")
        assert not page.is_visible(".list")
        top = page.eval_on_selector(f"#request-{ids[-1]}", "article => article.getBoundingClientRect().top")
        assert 0 <= top < 844 / 2  # the detail starts on screen, not below the fold
        for tab in ("Raw", "cURL", "Replay", "Check signature", "Overview"):
            page.tap(f"#request-{ids[-1]} [role=tab]:has-text('{tab}')")
            assert page.evaluate(OVERFLOWS) == [], tab
        screenshot(page, "request-phone.png")

        page.tap("[data-back]")
        assert page.is_visible(".list") and not page.is_visible(".detail-pane")
        open_request(page, ids[-2])
        assert page.is_visible(f"#request-{ids[-2]}")
        page.go_back()  # the browser's own back goes to the list as well
        page.wait_for_url(f"**/bins/{bin_id}")
        expect(page.locator(".list")).to_be_visible()
        assert not page.is_visible(".detail-pane")

        page.tap("#open-settings")  # the settings are a screen of their own too, nothing clipped
        page.wait_for_selector("#detail #settings")
        assert not page.is_visible(".list")
        assert page.evaluate(OVERFLOWS) == []
        widest = page.evaluate(
            "Math.max(...[...document.querySelectorAll('#settings *')]"
            ".map((element) => element.getBoundingClientRect().right))"
        )
        assert widest <= 390
        assert errors == []
    finally:
        context.close()


def test_notifications_for_requests_that_arrive_in_the_background(
    browser, server: ServerProcess, client: httpx.Client
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.grant_permissions(["notifications"], origin=server.url)
    # Records what the page shows through the browser's Notification API (the page's own code runs as is).
    context.add_init_script(
        "window.shown = []; const Real = window.Notification;"
        "window.Notification = class extends Real {"
        "  constructor(title, options) { super(title, options); window.shown.push([title, options.body]); }"
        "  static get permission() { return Real.permission; }"
        "  static requestPermission() { return Real.requestPermission(); } };"
    )
    page = context.new_page()
    errors = console_errors(page)
    try:
        bin_id = client.post("/api/bins").json()["id"]
        page.goto(f"{server.url}/bins/{bin_id}")
        page.wait_for_selector("#live-indicator[data-state=live]")
        page.check("#notify")
        seen = capture(client, bin_id, "/while-looking")
        page.wait_for_selector(f"#r-{seen}")
        page.evaluate(
            "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
            "document.dispatchEvent(new Event('visibilitychange'))"
        )
        away = capture(client, bin_id, "/while-away")
        page.wait_for_selector(f"#r-{away}")
        assert page.evaluate("window.shown") == [["POST /while-away", f"Bin {bin_id}"]]
        page.reload()
        assert page.is_checked("#notify")  # remembered
        assert errors == []
    finally:
        context.close()
