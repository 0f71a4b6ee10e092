"""The Python client against a real server: bins, filtered reads, waiting, exports and imports."""

from __future__ import annotations

import threading

import httpx
import pytest
from conftest import ServerProcess

from inspector.client import InspectorClient, InspectorError, WaitTimeout, connect, filter_params


@pytest.fixture
def api(server: ServerProcess) -> InspectorClient:
    with InspectorClient(server.url) as client:
        yield client


def test_filter_params_spell_the_api_parameters() -> None:
    assert filter_params(
        method=["POST", "PUT"],
        path="/x/*",
        text="hi",
        headers={"x-a": "1", "x-b": None},
        query={"k": "v"},
        json={"data": {"object": {"id": "o_1"}}, "n": 3, "ok": True},
        provider="stripe",
        min_size=1,
    ) == [
        ("method", "POST"),
        ("method", "PUT"),
        ("path", "/x/*"),
        ("q", "hi"),
        ("header", "x-a:1"),
        ("header", "x-b:"),
        ("query", "k:v"),
        ("json", "data.object.id:o_1"),
        ("json", "n:3"),
        ("json", "ok:true"),
        ("provider", "stripe"),
        ("min_size", "1"),
    ]


def test_wait_for_finds_a_capture_sent_before_or_after(api: InspectorClient) -> None:
    bin = api.create_bin()
    httpx.post(f"{bin.url}/hooks", json={"type": "invoice.created"})
    httpx.post(f"{bin.url}/hooks", json={"type": "invoice.paid", "data": {"amount": 5}})
    found = bin.wait_for(method="POST", json={"type": "invoice.paid"}, timeout=5)
    assert found.json() == {"type": "invoice.paid", "data": {"amount": 5}}
    assert found.sub_path == "/hooks" and found.header("content-type") == "application/json"

    timer = threading.Timer(0.5, lambda: httpx.put(f"{bin.url}/late", content=b"\x00\xff"))
    timer.start()
    late = bin.wait_for(method="PUT", timeout=10, after=found.id)
    timer.join()
    assert late.content == b"\x00\xff" and late.body_encoding == "base64"
    assert [r.id for r in bin.requests(method="POST")] == [found.id, found.id - 1]


def test_wait_for_says_what_the_bin_got_when_it_times_out(api: InspectorClient) -> None:
    bin = api.create_bin()
    httpx.post(f"{bin.url}/other", json={"type": "x"})
    with pytest.raises(WaitTimeout, match=r"no capture matching json=type:y within 0.5 s.*POST /other"):
        bin.wait_for(json={"type": "y"}, timeout=0.5)


def test_errors_carry_the_status_and_detail(api: InspectorClient, server: ServerProcess) -> None:
    with pytest.raises(InspectorError) as refused:
        api.bin("no-such-bin-here").get(1)
    assert refused.value.status == 404
    bin = api.create_bin()
    with pytest.raises(InspectorError, match="unknown parameter: colour"):
        bin.requests(colour="red")
    private = api.create_bin(private=True)
    assert connect(f"{server.url}/bins/{private.id}", token=private.token).requests() == []
    with pytest.raises(InspectorError) as denied:
        connect(f"{server.url}/b/{private.id}").requests()
    assert denied.value.status == 401


def test_export_and_import_between_bins(api: InspectorClient) -> None:
    source, copy = api.create_bin(), api.create_bin()
    httpx.request("PROPFIND", f"{source.url}/dav", content=b"\x00\x01", headers=[("x-d", "1"), ("x-d", "2")])
    for fmt in ("har", "ndjson"):
        ids = copy.import_(source.export(fmt))
        (imported,) = [copy.get(i) for i in ids]
        assert (imported.method, imported.sub_path, imported.content) == ("PROPFIND", "/dav", b"\x00\x01")
        assert [h for h in imported.headers if h[0] == "x-d"] == [("x-d", "1"), ("x-d", "2")]
