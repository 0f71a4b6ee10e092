"""In a real browser (chromium): content a bin controls never runs, or styles, as the dashboard's origin."""

from __future__ import annotations

import httpx
from conftest import ServerProcess

PAYLOAD = "document.title = 'pwned'; localStorage.setItem('x', '1');"

# Loads a URL as a script or a stylesheet from a dashboard page, as markup that slipped past
# escaping would: the dashboard's CSP allows any same-origin URL. Resolves "load" or "error".
LOAD = """([tag, url]) => new Promise((resolve) => {
    const element = document.createElement(tag);
    if (tag === "link") { element.rel = "stylesheet"; element.href = url; } else { element.src = url; }
    element.onload = () => resolve("load");
    element.onerror = () => resolve("error");
    document.head.append(element);
})"""


def dashboard_storage(page, server: ServerProcess) -> str | None:
    page.goto(f"{server.url}/")
    return page.evaluate("localStorage.getItem('x')")


def test_a_custom_html_answer_opened_in_the_browser_runs_no_script(
    page, server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    html = f"<!doctype html><title>bin answer</title><p id=p>hello</p><script>{PAYLOAD}</script>"
    settings = {"default": {"body": html, "content_type": "text/html; charset=utf-8"}}
    assert client.put(f"/api/bins/{bin_id}/response", json=settings).status_code == 200

    page.goto(f"{server.url}/b/{bin_id}/page")
    assert page.text_content("#p") == "hello"  # the page did render
    assert page.title() == "bin answer"
    assert dashboard_storage(page, server) is None


def test_captured_script_and_css_cannot_be_loaded_by_a_dashboard_page(
    page, server: ServerProcess, client: httpx.Client, bin_id: str
) -> None:
    def body_url(content: str, content_type: str) -> str:
        sent = client.post(f"/b/{bin_id}", content=content.encode(), headers={"content-type": content_type})
        return f"/api/bins/{bin_id}/requests/{sent.headers['x-inspector-request-id']}/body"

    script = body_url(PAYLOAD, "text/javascript")
    stylesheet = body_url("body { background-color: rgb(1, 2, 3) !important }", "text/css")
    page.goto(f"{server.url}/bins/{bin_id}")
    title = page.title()

    assert page.evaluate(LOAD, ["script", script]) == "error"
    assert page.evaluate(LOAD, ["link", stylesheet]) == "error"
    assert page.title() == title
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(1, 2, 3)"
    assert dashboard_storage(page, server) is None
