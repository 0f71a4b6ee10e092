"""The dashboard's live view in chromium: badges, rows beyond the first page, the end of a bin."""

from __future__ import annotations

import signal
import threading
import time

import httpx
from conftest import Recorded, ServerProcess
from playwright.sync_api import expect
from test_dashboard import open_settings


def console_errors(page) -> list[str]:
    """Every console error and uncaught exception of the page from now on (the list fills as they come)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def capture(client: httpx.Client, bin_id: str, path: str = "/hook", **kwargs) -> int:
    response = client.post(f"/b/{bin_id}{path}", **kwargs)
    assert response.status_code == 200
    return int(response.headers["x-inspector-request-id"])


def wait_until(predicate, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_forward_results_for_rows_beyond_the_first_page_cause_no_errors(
    page, server: ServerProcess, client: httpx.Client, recording_target
) -> None:
    """Forward results arrive for all 60 rows while the page shows the newest 50: the 10 others
    used to be out-of-band swaps with no target, one htmx:oobErrorNoTarget console error each."""
    gate = threading.Event()

    def held(recorded: Recorded):
        gate.wait(20)  # every delivery waits until the page is open and live
        return 200, [("Content-Type", "text/plain")], b"ok"

    target = recording_target(held)
    bin_id = client.post("/api/bins").json()["id"]
    client.put(f"/api/bins/{bin_id}/forward", json={"targets": [f"{target.url}/in"]})
    ids = [capture(client, bin_id, f"/n{n}") for n in range(60)]
    errors = console_errors(page)
    page.goto(f"{server.url}/bins/{bin_id}")
    page.wait_for_selector("#live-indicator[data-state=live]")
    assert page.locator("#rows tr.row").count() == 50
    gate.set()

    def delivered() -> bool:
        rows = client.get(f"/api/bins/{bin_id}/requests", params={"limit": 100}).json()
        items = rows["items"] if isinstance(rows, dict) else rows
        return len(items) == 60 and all((r.get("forwarding") or {}).get("delivered") == 1 for r in items)

    wait_until(delivered, timeout=40)
    for request_id in ids[-50:]:
        # Sixty results rendered and swapped in one burst: on a loaded machine the last can take
        # longer than expect's default five seconds to show.
        expect(page.locator(f"#fwd-{request_id} .badge")).to_have_text("↗ 1/1", timeout=20_000)
    assert page.locator(f"#r-{ids[0]}").count() == 0
    page.click("#more-rows button")  # older rows, loaded later, show their state as it is now
    expect(page.locator(f"#fwd-{ids[0]} .badge")).to_have_text("↗ 1/1")
    assert errors == []


def test_a_second_forward_result_for_a_row_is_not_served_stale(
    page, server: ServerProcess, client: httpx.Client, recording_target
) -> None:
    """Two targets, one a second slower: the second result used to get the first one's cached
    rendering (keyed by kind and request id), and the row stayed at ↗ 1/2 while the store said 2/2."""
    fast = recording_target()
    slow = recording_target(lambda recorded: (time.sleep(1.0), (200, [], b"ok"))[1])
    bin_id = client.post("/api/bins").json()["id"]
    client.put(f"/api/bins/{bin_id}/forward", json={"targets": [fast.url, slow.url]})
    page.goto(f"{server.url}/bins/{bin_id}")
    page.wait_for_selector("#live-indicator[data-state=live]")
    request_id = capture(client, bin_id, "/twice")
    slow.wait_for(1)
    forwards = f"/api/bins/{bin_id}/requests/{request_id}/forwards"
    wait_until(lambda: [job["state"] for job in client.get(forwards).json()] == ["delivered", "delivered"])
    expect(page.locator(f"#fwd-{request_id} .badge")).to_have_text("↗ 2/2")


def test_other_pages_stop_reconnecting_once_the_bin_is_deleted(
    browser, server: ServerProcess, client: httpx.Client
) -> None:
    context = browser.new_context()
    owner, other = context.new_page(), context.new_page()
    owner.on("dialog", lambda dialog: dialog.accept())
    bin_id = client.post("/api/bins").json()["id"]
    for page in (owner, other):
        page.goto(f"{server.url}/bins/{bin_id}")
        page.wait_for_selector("#live-indicator[data-state=live]")
    streams: list[str] = []
    other.on("request", lambda request: streams.append(request.url) if "/events" in request.url else None)
    try:
        open_settings(owner)
        owner.click("button:text-is('Delete bin')")
        for page in (owner, other):
            page.wait_for_selector("#bin-status >> text=This bin was deleted")
            expect(page.locator("#live-indicator")).to_have_attribute("data-state", "ended")
        other.wait_for_timeout(4000)  # the stream's retry is 1 s, htmx's backoff starts at 0.5 s
        assert streams == []
    finally:
        context.close()


def test_a_page_that_was_away_when_its_bin_was_deleted_stops_too(page, start_server, tmp_path) -> None:
    """The page misses the deletion event (the server restarted meanwhile): its reconnections get
    404, which an EventSource cannot read, so the page asks the API and stops instead of retrying."""
    db_path = tmp_path / "away.db"
    server = start_server(db_path=db_path)
    bin_id = httpx.post(f"{server.url}/api/bins").json()["id"]
    page.goto(f"{server.url}/bins/{bin_id}")
    page.wait_for_selector("#live-indicator[data-state=live]")
    page.route("**/events?*", lambda route: route.abort())
    server.stop(signal.SIGTERM)
    page.wait_for_selector("#live-indicator[data-state=reconnecting]")
    restarted = start_server(db_path=db_path, port=server.port)
    assert httpx.delete(f"{restarted.url}/api/bins/{bin_id}").status_code == 204
    streams: list[str] = []
    page.on("request", lambda request: streams.append(request.url) if "/events" in request.url else None)
    page.unroute("**/events?*")
    page.wait_for_selector("#bin-status >> text=This bin was deleted", timeout=20_000)
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "ended")
    seen = len(streams)
    page.wait_for_timeout(4000)
    assert len(streams) == seen


def test_badges_changed_before_the_stream_opened_are_shown(
    page, server: ServerProcess, client: httpx.Client, recording_target
) -> None:
    """A forward that completes after the page was rendered but before its stream opened sends its
    event to nobody; the page used to keep ↗ 0/1 until reloaded."""
    gate = threading.Event()
    target = recording_target(lambda recorded: (gate.wait(20), (200, [], b"ok"))[1])
    bin_id = client.post("/api/bins").json()["id"]
    client.put(f"/api/bins/{bin_id}/forward", json={"targets": [target.url]})
    request_id = capture(client, bin_id, "/early")
    page.route("**/events?*", lambda route: route.abort())  # the stream cannot open yet
    page.goto(f"{server.url}/bins/{bin_id}")
    expect(page.locator(f"#fwd-{request_id} .badge")).to_have_text("↗ 0/1")
    gate.set()
    forwards = f"/api/bins/{bin_id}/requests/{request_id}/forwards"
    wait_until(lambda: client.get(forwards).json()[0]["state"] == "delivered")
    page.unroute("**/events?*")
    page.wait_for_selector("#live-indicator[data-state=live]", timeout=20_000)
    expect(page.locator(f"#fwd-{request_id} .badge")).to_have_text("↗ 1/1")
