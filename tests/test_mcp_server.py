"""The MCP server driven by the SDK's own client over stdio, against a real Webhook Inspector server."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ServerProcess

mcp = pytest.importorskip("mcp", reason="the MCP test needs the mcp package (pip install -e '.[test]')")

ROOT = Path(__file__).resolve().parents[1]


def result(answer: Any) -> Any:
    assert not answer.is_error, answer.content
    if answer.structured_content is not None:
        content = answer.structured_content
        # Lists and scalars come wrapped as {"result": ...}.
        return content["result"] if isinstance(content, dict) and set(content) == {"result"} else content
    return json.loads(answer.content[0].text)


@pytest.fixture
def stdio(server: ServerProcess) -> mcp.StdioServerParameters:
    env = {"PYTHONPATH": str(ROOT), "INSPECTOR_URL": server.url, "PATH": os.environ.get("PATH", "")}
    return mcp.StdioServerParameters(command=sys.executable, args=["-m", "inspector", "mcp"], env=env)


async def test_the_tools_over_stdio(stdio: mcp.StdioServerParameters, server: ServerProcess) -> None:
    async with mcp.Client(stdio, read_timeout_seconds=60) as client, httpx.AsyncClient() as http:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert tools == {
            "create_bin",
            "list_requests",
            "get_request",
            "wait_for_next",
            "verify_signature",
            "replay",
        }

        made = result(await client.call_tool("create_bin", {}))
        assert made["url"] == f"{server.url}/b/{made['id']}"
        sent = await http.post(
            f"{made['url']}/hook?x=1",
            json={"type": "invoice.paid"},
            headers={"authorization": "Bearer hunter2", "stripe-signature": "t=1,v1=abc", "x-plain": "shown"},
        )
        request_id = int(sent.headers["x-inspector-request-id"])
        await http.put(f"{made['url']}/other", content=b"x")

        listed = result(
            await client.call_tool("list_requests", {"bin": made["id"], "filters": {"method": "POST"}})
        )
        assert [item["id"] for item in listed] == [request_id]
        assert (listed[0]["provider"], listed[0]["event"]) == ("stripe", "invoice.paid")

        got = result(await client.call_tool("get_request", {"bin": made["id"], "request_id": request_id}))
        headers = dict(got["headers"])
        assert headers["authorization"].startswith("[masked: 14 characters")
        assert headers["stripe-signature"].startswith("[masked")
        assert headers["x-plain"] == "shown"
        assert "hunter2" not in json.dumps(got)
        revealed = result(
            await client.call_tool(
                "get_request", {"bin": made["id"], "request_id": request_id, "reveal_secrets": True}
            )
        )
        assert dict(revealed["headers"])["authorization"] == "Bearer hunter2"

        timer = threading.Timer(1.0, lambda: httpx.post(f"{made['url']}/late", json={"late": True}))
        timer.start()
        began = time.monotonic()
        late = result(
            await client.call_tool(
                "wait_for_next", {"bin": made["id"], "timeout": 20, "filters": {"path": "/late"}}
            )
        )
        timer.join()
        assert late["sub_path"] == "/late" and time.monotonic() - began < 20
        assert result(await client.call_tool("wait_for_next", {"bin": made["id"], "timeout": 0.5})) == {
            "timed_out": True
        }

        verdict = result(
            await client.call_tool(
                "verify_signature",
                {"bin": made["id"], "request_id": request_id, "secret": "whsec_wrong", "provider": "stripe"},
            )
        )
        assert verdict["valid"] is False

        sink = result(await client.call_tool("create_bin", {}))
        attempt = result(
            await client.call_tool(
                "replay", {"bin": made["id"], "request_id": request_id, "target": sink["url"] + "/copy"}
            )
        )
        assert attempt["status"] == 200
        (copy,) = result(await client.call_tool("list_requests", {"bin": sink["id"]}))
        assert copy["sub_path"] == "/copy/hook"  # the target is a base: the sub-path follows it

        refused = await client.call_tool("get_request", {"bin": "no-such-bin-q", "request_id": 1})
        assert refused.is_error and "404" in refused.content[0].text
