"""Cross-site requests: other sites (another port of the same host included) change nothing."""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import ServerProcess

from inspector.proxies import TrustedProxies
from inspector.web.csrf import refusal, unreadable_body


def scope(method: str, headers: dict[str, str], path: str = "/api/bins/x/share") -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [(k.encode(), v.encode()) for k, v in {"host": "127.0.0.1:8000", **headers}.items()],
    }


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),  # curl, scripts, CI: no ambient credentials, nothing to forge
        ({"sec-fetch-site": "same-origin"}, False),
        ({"sec-fetch-site": "none"}, False),
        ({"sec-fetch-site": "same-site"}, True),  # another port, a sibling subdomain
        ({"sec-fetch-site": "cross-site"}, True),
        ({"sec-fetch-site": "same-site", "origin": "http://127.0.0.1:8000"}, True),
        ({"origin": "http://127.0.0.1:8000"}, False),  # a browser without Fetch Metadata
        ({"origin": "http://127.0.0.1:3000"}, True),
        ({"origin": "http://app.127.0.0.1:8000"}, True),
        ({"origin": "null"}, True),
    ],
)
def test_unsafe_methods_from_other_sites_are_refused(headers: dict[str, str], refused: bool) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert (refusal(scope(method, headers), TrustedProxies(), None) is not None) is refused
    assert refusal(scope("GET", headers), TrustedProxies(), None) is None  # reading changes nothing


def test_the_public_url_is_this_servers_origin_too() -> None:
    request = scope("POST", {"origin": "https://hooks.example.com"})
    assert refusal(request, TrustedProxies(), "https://hooks.example.com/inspector") is None
    assert refusal(request, TrustedProxies(), None) is not None


@pytest.mark.parametrize(
    ("content_type", "refused"),
    [
        ("application/json", False),
        ("Application/JSON; charset=utf-8", False),
        ("application/merge-patch+json", False),
        ("text/plain", True),
        ("application/x-www-form-urlencoded", True),
        ("multipart/form-data; boundary=x", True),
        (None, True),
    ],
)
def test_the_api_reads_only_json_bodies(content_type: str | None, refused: bool) -> None:
    headers = {"content-length": "2", **({"content-type": content_type} if content_type else {})}
    assert (unreadable_body(scope("POST", headers)) is not None) is refused
    assert unreadable_body(scope("POST", {"content-length": "0"})) is None  # no body, nothing to read
    assert unreadable_body(scope("POST", headers, path="/bins/x/response")) is None  # dashboard forms


def test_cross_site_requests_change_nothing_over_http(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        made = http.post("/api/bins", json={"private": True}).json()
        bin_id, owner = made["id"], {"Authorization": f"Bearer {made['token']}"}
        share = http.post(f"/api/bins/{bin_id}/share", headers=owner).json()["share_token"]
        other_port = {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:3000"}

        refused = http.post(f"/api/bins/{bin_id}/share", headers={**owner, **other_port})
        assert refused.status_code == 403
        assert "Cross-site request refused" in refused.json()["detail"]
        form = http.post(
            f"/bins/{bin_id}/response",
            headers={**owner, **other_port},
            data={"custom": "on", "status": "418"},
        )
        assert form.status_code == 403
        text_json = http.put(
            f"/api/bins/{bin_id}/response",
            headers={**owner, "Content-Type": "text/plain"},
            content=json.dumps({"default": {"status": 418}}),
        )
        assert text_json.status_code == 415
        assert "application/json" in text_json.json()["detail"]

        # Nothing changed: the share token still reads, the bin still answers as built in.
        assert (
            http.get(f"/api/bins/{bin_id}", headers={"Authorization": f"Bearer {share}"}).status_code == 200
        )
        assert http.get(f"/api/bins/{bin_id}/response", headers=owner).json() is None
        assert http.post(f"/b/{bin_id}/x").status_code == 200
        # The same requests from this server's own pages (or from a script) go through.
        same = http.post(f"/api/bins/{bin_id}/share", headers={**owner, "Sec-Fetch-Site": "same-origin"})
        assert same.status_code == 200


def test_a_page_on_another_port_cannot_act_for_the_owner(page, start_server, recording_target) -> None:
    """The owner's browser holds the bin's cookies; a page of their own app on another port tries
    a form post and a text/plain JSON fetch, both of which browsers send with those cookies."""
    server = start_server("--private-bins")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        made = http.post("/api/bins").json()
        bin_id, owner = made["id"], {"Authorization": f"Bearer {made['token']}"}
        share = http.post(f"/api/bins/{bin_id}/share", headers=owner).json()["share_token"]
    page.goto(f"{server.url}/bins/{bin_id}?token={made['token']}")  # the owner's browser now has the cookies
    page.wait_for_selector("#live-indicator[data-state=live]")

    attack = f"""<!doctype html><body>
<form id="f" method="post" action="{server.url}/bins/{bin_id}/response">
<input name="custom" value="on"><input name="status" value="418"></form>
<script>
fetch("{server.url}/api/bins/{bin_id}/share", {{method: "POST", mode: "no-cors", credentials: "include",
  headers: {{"Content-Type": "text/plain"}}, body: "{{}}"}})
  .finally(() => document.getElementById("f").submit());
</script></body>"""
    evil = recording_target(lambda recorded: (200, [("Content-Type", "text/html")], attack.encode()))
    page.goto(f"{evil.url}/")
    page.wait_for_url(f"{server.url}/bins/{bin_id}/response")  # the form did reach the server...
    assert "Cross-site request refused" in page.content()  # ...and was refused

    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get(f"/api/bins/{bin_id}/response", headers=owner).json() is None
        assert (
            http.get(f"/api/bins/{bin_id}", headers={"Authorization": f"Bearer {share}"}).status_code == 200
        )


def test_the_dashboard_itself_still_changes_settings(page, start_server) -> None:
    server = start_server("--private-bins")
    page.goto(f"{server.url}/")
    page.click("#new-bin")
    page.wait_for_url("**/bins/*")
    bin_id = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#live-indicator[data-state=live]")
    page.click("#open-settings")  # Delete bin lives in the settings view
    with page.expect_response(f"**/api/bins/{bin_id}") as deleted:
        page.click(f"button.danger[hx-delete='/api/bins/{bin_id}']")
    assert deleted.value.status == 204
