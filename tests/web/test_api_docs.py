"""The interactive API page in a real browser: vendored Swagger UI, nothing from elsewhere, working calls."""

from __future__ import annotations

from conftest import ServerProcess


def test_the_api_page_loads_from_this_server_only_and_runs_a_call(page, server: ServerProcess) -> None:
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("response", lambda got: got.status >= 400 and problems.append(f"{got.status} {got.url}"))
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{server.url}/api/docs")
    page.wait_for_selector("#operations-bins-create_bin")
    assert page.locator(".opblock").count() >= 20  # every operation of the schema is listed
    # Try it out (on from the start): create a bin from the page, through this server's API.
    page.click("#operations-bins-create_bin .opblock-summary")
    page.fill("#operations-bins-create_bin textarea.body-param__text", '{"ttl_seconds": 3600}')
    page.click("#operations-bins-create_bin .execute")
    status_cell = "#operations-bins-create_bin .live-responses-table tbody .response-col_status"
    page.wait_for_selector(status_cell)
    status = page.locator(status_cell).first
    assert status.inner_text().strip() == "201"
    assert [url for url in requested if not url.startswith(server.url)] == []  # no CDN, no fonts
    assert problems == []  # no script or style the Content-Security-Policy refused
