"""`inspector serve --hub-url`: live events and rate limits go through Redis, as several processes need."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import redis
from conftest import REDIS_URL, free_port, read_sse

pytestmark = pytest.mark.usefixtures("redis_required")


def test_a_server_with_a_hub_url_streams_captures_through_redis_and_limits_there(start_server) -> None:
    server = start_server("--hub-url", REDIS_URL, "--bin-rate-limit", "5")
    client = redis.Redis.from_url(REDIS_URL)
    watcher = client.pubsub()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            # Bin ids are random: the channel and key are this test's alone.
            bin_id = http.post("/api/bins").json()["id"]
            channel = f"inspector:bin:{bin_id}"
            watcher.subscribe(channel)
            assert watcher.get_message(timeout=5)["type"] == "subscribe"
            with httpx.stream(
                "GET", f"{server.url}/api/bins/{bin_id}/stream", params={"after": 0}, timeout=10
            ) as stream:
                events = read_sse(stream)
                # Wait (bounded) until the server has subscribed too, so the capture arrives live.
                for _ in range(100):
                    if dict(client.pubsub_numsub(channel))[channel.encode()] == 2:
                        break
                    time.sleep(0.05)
                else:
                    pytest.fail("the server never subscribed to the bin's channel")
                response = http.post(f"/b/{bin_id}/hook", content=b'{"live": true}')
                request_id = int(response.headers["x-inspector-request-id"])
                live = next(e for e in events if e.get("event") == "request")
            assert int(live["id"]) == request_id
            assert json.loads(live["data"])["body"] == '{"live": true}'

            published = watcher.get_message(timeout=5)
            assert published["type"] == "message"
            assert json.loads(published["data"])["request_id"] == request_id

            # The bin's rate-limit state lives in Redis, where every process sees it.
            assert client.pttl(f"inspector:rate:bin:{bin_id}") > 0
    finally:
        watcher.close()
        client.close()


def test_a_server_whose_redis_is_unreachable_does_not_start(start_server) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(RuntimeError, match="cannot reach Redis at " + url):
        start_server("--hub-url", url)
