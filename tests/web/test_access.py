"""Bin tokens in browsers: cookies that never reach a capture URL, and links that do not keep tokens."""

from __future__ import annotations

import httpx
from conftest import ServerProcess


def test_visiting_a_bin_gives_it_no_owner_token(page, start_server, recording_target) -> None:
    """An attacker leads the owner's browser (from a page of another origin, no click) to the
    attacker's own bin and reads what it captured: no cookie of the owner's may be in it."""
    server = start_server("--private-bins")
    page.goto(f"{server.url}/")
    page.click("#new-bin")  # the victim's private bin; the browser now holds its owner cookies
    page.wait_for_url("**/bins/*")
    victim_bin = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#live-indicator[data-state=live]")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        made = http.post("/api/bins").json()
        attacker_bin, attacker = made["id"], {"Authorization": f"Bearer {made['token']}"}
        # The share link the owner opened earlier, too.
        owner_cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        assert f"inspector_owner_{victim_bin}" in owner_cookies

        lure = f'<meta http-equiv="refresh" content="0;url={server.url}/b/{attacker_bin}/stolen">'
        evil = recording_target(lambda recorded: (200, [("Content-Type", "text/html")], lure.encode()))
        page.goto(f"{evil.url}/")
        page.wait_for_url(f"{server.url}/b/{attacker_bin}/stolen")

        items = http.get(f"/api/bins/{attacker_bin}/requests", headers=attacker).json()["items"]
        assert len(items) == 1
        captured = http.get(f"/api/bins/{attacker_bin}/requests/{items[0]['id']}", headers=attacker).json()
        wire = repr(captured["headers"])
        assert owner_cookies[f"inspector_owner_{victim_bin}"] not in wire
        assert "inspector_owner_" not in wire
        # The owner's own pages still open with those cookies.
        page.goto(f"{server.url}/bins/{victim_bin}")
        page.wait_for_selector("#live-indicator[data-state=live]")


def test_cookies_are_scoped_to_the_bins_pages_and_api(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        created = http.post("/bins")
        assert created.status_code == 303
        bin_id = created.headers["location"].rsplit("/", 1)[1]
        cookies = created.headers.get_list("set-cookie")
        paths = sorted(
            part.strip() for c in cookies for part in c.split(";") if part.strip().startswith("Path=")
        )
        assert paths == [f"Path=/api/bins/{bin_id}", f"Path=/bins/{bin_id}"]
        assert all("HttpOnly" in c and "samesite=lax" in c.lower() for c in cookies)
        assert not any("Secure" in c for c in cookies)  # plain http on loopback


def test_cookies_are_secure_when_the_public_url_is_https(start_server) -> None:
    server = start_server("--public-url", "https://hooks.example.com")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        cookies = http.post("/bins").headers.get_list("set-cookie")
        assert cookies and all("Secure" in c for c in cookies)


def test_a_capture_never_stores_this_servers_token_cookies(client: httpx.Client, bin_id: str) -> None:
    """The second wall: cookies set before they were scoped, or sent by hand, are not kept."""
    sent = client.post(
        f"/b/{bin_id}/x",
        headers=[
            ("cookie", "theme=dark; inspector_owner_abc=SECRET1; inspector_theme=kept"),
            ("cookie", "inspector_share_abc=SECRET2"),
        ],
    )
    request_id = sent.headers["x-inspector-request-id"]
    headers = client.get(f"/api/bins/{bin_id}/requests/{request_id}").json()["headers"]
    cookies = [value for name, value in headers if name == "cookie"]
    assert cookies == ["theme=dark; inspector_theme=kept"]
    assert "SECRET" not in repr(headers)


def test_a_token_link_sets_its_cookie_and_leaves_the_address_bar(start_server) -> None:
    server = start_server("--private-bins")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        made = http.post("/api/bins").json()
        bin_id, token = made["id"], made["token"]
        request_id = http.post(f"/b/{bin_id}/x").headers["x-inspector-request-id"]
        for path in (f"/bins/{bin_id}", f"/bins/{bin_id}/requests/{request_id}"):
            opened = http.get(f"{path}?token={token}&view=raw")
            assert opened.status_code == 303
            assert opened.headers["location"] == f"{path}?view=raw"
            assert token in opened.headers["set-cookie"]
            # The browser follows with the cookie and sees the bin.
            follow = http.get(opened.headers["location"])
            assert follow.status_code == 200
            assert "This bin is private" not in follow.text
            http.cookies.clear()
        share = http.post(f"/api/bins/{bin_id}/share", headers={"Authorization": f"Bearer {token}"}).json()
        opened = http.get(share["share_url"].replace(server.url, ""))
        assert opened.status_code == 303
        assert opened.headers["location"] == f"/bins/{bin_id}"
        assert http.get(f"/bins/{bin_id}").status_code == 200


def test_tokens_in_urls_are_not_written_to_the_access_log(start_server) -> None:
    server = start_server("--access-log")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        made = http.post("/api/bins").json()
        http.get(f"/api/bins/{made['id']}?token={made['token']}")
        share = http.post(
            f"/api/bins/{made['id']}/share", headers={"Authorization": f"Bearer {made['token']}"}
        )
        http.get(share.json()["share_url"].replace(server.url, ""))
        smee = f"/b/{made['id']}?token={made['token']}"
        with http.stream("GET", smee, headers={"Accept": "text/event-stream"}) as channel:
            assert channel.status_code == 200
    server.stop()
    log = server.log
    assert f"/api/bins/{made['id']}?token=" in log  # the request was logged...
    assert made["token"] not in log  # ...without its token
    assert share.json()["share_token"] not in log
