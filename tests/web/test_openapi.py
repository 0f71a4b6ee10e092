"""The API against its own OpenAPI schema: schemathesis generates requests, and none gets a server error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ServerProcess

SEED = "20261130"


def test_no_generated_request_gets_a_server_error(server: ServerProcess, tmp_path: Path) -> None:
    """A bounded, seeded run: 200 examples per operation (coverage, fuzzing and stateful phases).

    The live stream is left out: it never ends, so every call to it would time out; so is the long
    poll for the next capture, which waits its `timeout` on every call (its bad input is tested in
    tests/web/test_live.py).
    """
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    if st is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    run = subprocess.run(
        [
            st,
            "run",
            f"{server.url}/api/schema/openapi.json",
            "--checks",
            "not_a_server_error",
            "--exclude-path-regex",
            "/stream$|/requests/next$",
            "--max-examples",
            "200",
            "--seed",
            SEED,
            "--request-timeout",
            "10",
            "--generation-database",
            ":memory:",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    report = run.stdout[-4000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "passed" in run.stdout, report


# -- what clients generated from the schema rely on ------------------------------------------------


def schema(server: ServerProcess) -> dict:
    import httpx

    return httpx.get(f"{server.url}/api/schema/openapi.json", timeout=10).json()


def test_the_schema_is_valid_openapi(server: ServerProcess) -> None:
    validator = pytest.importorskip("openapi_spec_validator", reason="pip install -e '.[test]'")
    document = schema(server)
    validator.validate(document)  # raises, saying where, on any invalid part
    assert '"prefixItems"' not in json.dumps(document)  # tuples as fixed-length arrays, which generators read


def test_the_schema_says_how_to_authenticate_and_what_errors_look_like(server: ServerProcess) -> None:
    document = schema(server)
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A bin's owner token, or its share token for reading.",
    }
    error = {"$ref": "#/components/schemas/Error"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not path.startswith("/api/"):
                continue
            responses = operation["responses"]
            assert responses["400"]["content"]["application/json"]["schema"] == error, (method, path)
            if "{bin_id}" in path:
                assert operation["security"] == [{}, {"bearer": []}]
                for status in ("401", "403", "404"):
                    assert responses[status]["content"]["application/json"]["schema"] == error
                assert "WWW-Authenticate" in responses["401"]["headers"]
            if "requestBody" in operation:
                assert {"413", "415"} <= set(responses)
    # Operation ids are what generated clients name their functions: short, unique, readable.
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert {"create_bin", "list_requests", "get_request", "get_body", "stream_requests"} <= set(ids)
    create = document["paths"]["/api/bins"]["post"]["responses"]
    assert {"409", "429"} <= set(create) and "Location" in create["201"]["headers"]
    stream = document["paths"]["/api/bins/{bin_id}/stream"]["get"]["responses"]["200"]["content"]
    assert list(stream) == ["text/event-stream"]
    for download in ("/body", "/parts/{index}"):
        (content,) = [
            item["get"]["responses"]["200"]["content"]
            for path, item in document["paths"].items()
            if path.endswith(download)
        ]
        assert content == {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    # The unknown-field policy: declared in words and in every request body's schemas.
    assert "Unknown fields" in document["info"]["description"]
    create_in = document["components"]["schemas"]["CreateBin"]
    assert create_in["additionalProperties"] is False


def test_the_server_does_what_the_schema_says(server: ServerProcess) -> None:
    import httpx

    with httpx.Client(base_url=server.url, timeout=10) as http:
        made = http.post("/api/bins", json={"private": True})
        assert made.status_code == 201
        assert made.headers["location"] == f"/api/bins/{made.json()['id']}"
        bin_id = made.json()["id"]
        refused = http.get(made.headers["location"])
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer realm="bins"'
        assert set(refused.json()) == {"status_code", "detail"}
        bearer = {"authorization": f"Bearer {made.json()['token']}"}
        assert http.get(made.headers["location"], headers=bearer).json()["id"] == bin_id
        unknown = http.patch(f"/api/bins/{bin_id}", json={"private": False, "colour": "red"}, headers=bearer)
        assert unknown.status_code == 400 and "colour" in unknown.text


QUICKSTART = '''
"""The README's quickstart through the generated client; any warning is an error (python -W error)."""
import sys

import httpx
from webhook_inspector_client import AuthenticatedClient, Client
from webhook_inspector_client.api.bins import create_bin, get_body, get_request, list_requests
from webhook_inspector_client.models import BinOut, CreateBin, Error, RequestOut, RequestPage
from webhook_inspector_client.types import File

base = sys.argv[1]
client = Client(base_url=base, raise_on_unexpected_status=True)

# 2. create a bin
made = create_bin.sync_detailed(client=client, body=CreateBin())
assert made.status_code == 201 and isinstance(made.parsed, BinOut), made
bin = made.parsed
assert made.headers["location"] == f"/api/bins/{bin.id}"

# 3. send it something (any method, any sub-path): senders are plain HTTP clients
sent = httpx.post(
    f"{bin.url}/github?attempt=1",
    headers={"Content-Type": "application/json", "X-GitHub-Event": "push"},
    content=b'{"ref": "refs/heads/main"}',
)
assert sent.status_code == 200, sent.text

# 4. list what it captured, newest first
page = list_requests.sync(bin.id, client=client)
assert isinstance(page, RequestPage) and len(page.items) == 1, page
summary = page.items[0]
assert (summary.method, summary.sub_path, summary.query) == ("POST", "/github", "attempt=1")
full = get_request.sync(bin.id, summary.id, client=client)
assert isinstance(full, RequestOut)
assert ["X-GitHub-Event", "push"] in full.headers and full.query_params == [["attempt", "1"]]
body = get_body.sync(bin.id, summary.id, client=client)
assert isinstance(body, File) and body.payload.read() == b'{"ref": "refs/heads/main"}'

# A private bin: its token through AuthenticatedClient; without it, a parsed Error.
private = create_bin.sync(client=client, body=CreateBin(private=True))
assert isinstance(private, BinOut) and private.token
owner = AuthenticatedClient(base_url=base, token=private.token)
assert isinstance(list_requests.sync(private.id, client=owner), RequestPage)
refused = list_requests.sync_detailed(private.id, client=client)
assert refused.status_code == 401 and isinstance(refused.parsed, Error), refused
assert refused.headers["www-authenticate"].startswith("Bearer")
print("quickstart ok")
'''


def test_a_generated_client_runs_the_quickstart_without_warnings(
    server: ServerProcess, tmp_path: Path
) -> None:
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    if generator is None:
        pytest.skip("openapi-python-client is not installed (pip install -e '.[test]')")
    (tmp_path / "schema.json").write_text(json.dumps(schema(server)))
    # No post hooks: the generated code is used as generated, formatter or not.
    (tmp_path / "config.yml").write_text("post_hooks: []\n")
    generated = subprocess.run(
        [generator, "generate", "--path", "schema.json", "--config", "config.yml", "--output-path", "client"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert "WARNING" not in output and "Cannot parse" not in output, output
    (tmp_path / "quickstart.py").write_text(QUICKSTART)
    run = subprocess.run(
        [sys.executable, "-W", "error", "quickstart.py", server.url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "client")},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "quickstart ok" in run.stdout


def test_base64_bodies_with_other_characters_are_client_errors(client, bin_id: str) -> None:
    """Found by the schemathesis run above: "base64" with non-ASCII characters was a 500."""
    body = "\u0085l-}Z"
    headers = {"content-type": "application/json"}
    sign = {"provider": "github", "secret": "s", "body": body, "body_encoding": "base64"}
    signed = client.post("/api/sign", content=json.dumps(sign), headers=headers)
    assert signed.status_code == 400 and signed.json()["detail"] == "body is not valid base64"
    request_id = client.post(f"/b/{bin_id}").headers["x-inspector-request-id"]
    replay = {"target": "http://127.0.0.1:9/", "body": body, "body_encoding": "base64"}
    replayed = client.post(f"/api/bins/{bin_id}/requests/{request_id}/replay", json=replay)
    assert replayed.status_code == 400 and replayed.json()["detail"] == "body is not valid base64"
