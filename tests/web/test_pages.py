"""The dashboard's pages over HTTP: what they cost the server to render."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import ServerProcess

TEN_MIB = 10 * 1024 * 1024


def rss_mib(server: ServerProcess) -> float:
    assert server.process is not None
    with open(f"/proc/{server.process.pid}/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kib / 1024


def big_bodies() -> dict[str, tuple[str, bytes]]:
    text = "héllo wörld ✨ " * (TEN_MIB // 18)
    parts = b"".join(
        b'--XyZ\r\nContent-Disposition: form-data; name="f%d"\r\nContent-Type: text/plain\r\n\r\n' % n
        + b"y" * (200 * 1024)
        + b"\r\n"
        for n in range(50)
    )
    return {
        "json": ("application/json", b'{"k": "' + b"x" * (TEN_MIB - 9) + b'"}'),
        "text": ("text/plain; charset=utf-8", text.encode()[:TEN_MIB]),
        "form": (
            "application/x-www-form-urlencoded",
            b"&".join(b"k%d=%s" % (n, b"v" * 1000) for n in range(10_000)),
        ),
        "multipart": ("multipart/form-data; boundary=XyZ", parts + b"--XyZ--\r\n"),
        "binary": ("application/octet-stream", os.urandom(TEN_MIB)),
    }


@pytest.mark.parametrize("kind", list(big_bodies()))
def test_viewing_a_10_mib_capture_costs_a_bounded_page_and_memory(start_server, kind: str) -> None:
    """Stated bounds: a request page under 1 MiB, and under 150 MiB of server RSS growth while four
    views of the same 10 MiB capture render at once. Each view holds the body read from the store and,
    for multipart, its parts (about 20 MiB a view); before the cap a view of such a body made a
    100 MB page and grew the server by hundreds of MB."""
    content_type, body = big_bodies()[kind]
    server = start_server("--max-body-size", "11MiB")
    with httpx.Client(base_url=server.url, timeout=60) as http:
        bin_id = http.post("/api/bins").json()["id"]
        sent = http.post(f"/b/{bin_id}/big", content=body, headers={"content-type": content_type})
        request_id = sent.headers["x-inspector-request-id"]
        http.get(f"/bins/{bin_id}")  # templates compiled, caches warm
        before = rss_mib(server)
        with ThreadPoolExecutor(4) as pool:
            pages = list(pool.map(lambda _: http.get(f"/bins/{bin_id}/requests/{request_id}"), range(4)))
        growth = rss_mib(server) - before
        assert all(page.status_code == 200 for page in pages)
        assert len(pages[0].content) < 1024 * 1024, len(pages[0].content)
        assert growth < 150, f"{growth:.0f} MiB"
        # What is not shown is one click away, byte for byte.
        download = http.get(f"/api/bins/{bin_id}/requests/{request_id}/body?download=true")
        assert download.content == body
        if kind != "binary":
            assert "download" in pages[0].text.lower()
