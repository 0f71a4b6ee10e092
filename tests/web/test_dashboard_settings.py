"""Every bin setting in the page, round-tripped through the API; a share view shows only reading."""

from __future__ import annotations

import httpx
from conftest import ServerProcess
from playwright.sync_api import expect
from test_dashboard import capture, open_new_bin, open_request, open_settings
from test_dashboard_live import console_errors


def test_settings_round_trip_through_the_page(page, server: ServerProcess, client: httpx.Client) -> None:
    errors = console_errors(page)
    bin_id = open_new_bin(page, server)
    open_settings(page)
    assert page.url.endswith(f"/bins/{bin_id}/settings")

    retention = page.locator("#retention form")
    retention.locator("input[name=max_requests]").fill("25")
    retention.locator("input[name=ttl_days]").fill("2")
    retention.locator("button[type=submit]").click()
    expect(page.locator("#retention")).to_contain_text("Saved.")
    described = client.get(f"/api/bins/{bin_id}").json()
    assert described["max_requests"] == 25
    assert "keeps the newest 25" in page.inner_text("#bin-meta")  # the bar follows at once
    expect(page.locator("#bin-meta time")).to_have_text("in 2 d")

    # Saving the limit alone leaves the expiry where it was.
    expires = client.get(f"/api/bins/{bin_id}").json()["expires_at"]
    retention = page.locator("#retention form")
    retention.locator("input[name=max_requests]").fill("30")
    retention.locator("button[type=submit]").click()
    expect(page.locator("#bin-meta")).to_contain_text("keeps the newest 30")
    assert client.get(f"/api/bins/{bin_id}").json()["expires_at"] == expires

    bad = page.locator("#retention form")
    bad.locator("input[name=max_requests]").evaluate("input => input.removeAttribute('min')")
    bad.locator("input[name=max_requests]").fill("0")
    bad.locator("button[type=submit]").click()
    expect(page.locator("#retention .note")).to_contain_text("Keep between 1 and 1,000,000 requests.")

    sharing = page.locator("#sharing")
    sharing.locator("input[name=private]").check()
    sharing.locator("form button[type=submit]").click()
    expect(page.locator("#bin-meta")).to_contain_text("private")
    assert client.get(f"/api/bins/{bin_id}").status_code == 401  # closed to strangers now

    sharing.locator("button:has-text('Make a share link')").click()
    share_url = page.locator("#share-url").input_value()
    assert f"/bins/{bin_id}?share=" in share_url
    assert (
        httpx.get(
            share_url.replace("/bins/", "/api/bins/").split("?")[0],
            params={"share": share_url.split("share=")[1]},
        ).status_code
        == 200
    )

    page.locator("#sharing button:has-text('Revoke')").click()
    expect(page.locator("#sharing")).to_contain_text("No share link.")
    token = share_url.split("share=")[1]
    assert httpx.get(f"{server.url}/api/bins/{bin_id}", params={"share": token}).status_code == 403

    page.reload()  # what was saved is what the page shows
    assert page.locator("#sharing input[name=private]").is_checked()
    assert page.locator("#retention input[name=max_requests]").input_value() == "30"
    assert errors == []


def test_a_share_view_shows_no_owner_controls(browser, start_server) -> None:
    server = start_server("--private-bins")
    owner_context, reader_context = browser.new_context(), browser.new_context()
    owner, reader = owner_context.new_page(), reader_context.new_page()
    try:
        errors = console_errors(reader)
        bin_id = open_new_bin(owner, server)
        request_id = capture(httpx.Client(base_url=server.url), bin_id, "/shared", json={"a": 1})
        share = owner.context.request.post(f"{server.url}/api/bins/{bin_id}/share").json()
        reader.goto(share["share_url"])
        reader.wait_for_selector("#live-indicator[data-state=live]")
        assert "read-only" in reader.inner_text("#bin-meta")
        assert reader.locator("#open-settings").count() == 0
        open_request(reader, request_id)
        for control in ("Delete", "Replay", "Check signature", "Clear", "Delete bin"):
            assert reader.locator(f"button:text-is('{control}')").count() == 0, control
        assert reader.locator(f"#tab-replay-{request_id}, #tab-signature-{request_id}").count() == 0
        assert '"a"' in reader.inner_text(f"#request-{request_id} pre.json")  # reading works
        assert errors == []
        settings = reader.goto(f"{server.url}/bins/{bin_id}/settings")
        assert settings is not None and settings.status == 403
    finally:
        owner_context.close()
        reader_context.close()


def test_lowering_the_limit_drops_the_oldest_at_once(
    page, server: ServerProcess, client: httpx.Client
) -> None:
    """It used to take effect at the next capture: until then the page and the API showed them all."""
    bin_id = open_new_bin(page, server)
    ids = [capture(client, bin_id, f"/n{n}") for n in range(5)]
    page.wait_for_selector(f"#r-{ids[-1]}")
    open_settings(page)
    page.fill("#retention input[name=max_requests]", "2")
    page.click("#retention button[type=submit]")
    expect(page.locator("#request-total")).to_have_text("2 requests")
    expect(page.locator("#rows tr.row")).to_have_count(2)
    shown = page.eval_on_selector_all("#rows tr.row", "rows => rows.map(r => r.id)")
    assert shown == [f"r-{ids[-1]}", f"r-{ids[-2]}"]
    listed = client.get(f"/api/bins/{bin_id}/requests").json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [item["id"] for item in items] == [ids[-1], ids[-2]]


def test_other_open_pages_follow_a_change_of_settings(browser, server: ServerProcess) -> None:
    owner_context, stranger_context = browser.new_context(), browser.new_context()
    owner, other_tab, stranger = (
        owner_context.new_page(),
        owner_context.new_page(),
        stranger_context.new_page(),
    )
    try:
        errors = console_errors(other_tab)
        bin_id = open_new_bin(owner, server)  # open: anyone with the link reads it
        ids = [capture(httpx.Client(base_url=server.url), bin_id, f"/n{n}") for n in range(4)]
        for page in (other_tab, stranger):
            page.goto(f"{server.url}/bins/{bin_id}")
            page.wait_for_selector("#live-indicator[data-state=live]")
            expect(page.locator("#rows tr.row")).to_have_count(4)

        open_settings(owner)
        owner.fill("#retention input[name=max_requests]", "2")
        owner.click("#retention button[type=submit]")
        expect(other_tab.locator("#bin-meta")).to_contain_text("keeps the newest 2")
        expect(other_tab.locator("#request-total")).to_have_text("2 requests")
        expect(other_tab.locator("#rows tr.row")).to_have_count(2)
        assert other_tab.locator(f"#r-{ids[0]}").count() == 0

        owner.check("#sharing input[name=private]")
        owner.click("#sharing form button[type=submit]")
        expect(other_tab.locator("#bin-meta")).to_contain_text("private")  # the owner's other tab reads on
        expect(stranger.locator("#bin-status")).to_contain_text("can no longer read the bin")
        expect(stranger.locator("#live-indicator")).to_have_attribute("data-state", "ended")
        assert errors == []
    finally:
        owner_context.close()
        stranger_context.close()
