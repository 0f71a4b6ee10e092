"""Cross-checks against the providers' npm SDKs (@octokit/webhooks-methods, @linear/sdk), when available.

Optional: they need node and the packages installed under INSPECTOR_NODE_DIR (a folder holding
node_modules), or under the repository root, e.g.
    npm install --no-save --prefix "$INSPECTOR_NODE_DIR" @octokit/webhooks-methods @linear/sdk
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from inspector.signatures import github, linear

from .helpers import NOW, from_signed, make_request

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = Path(os.environ.get("INSPECTOR_NODE_DIR", ROOT))
NODE = shutil.which("node")


def run_node(script: str, *args: str) -> str:
    """Runs an ES module with the packages resolved from NODE_DIR; skips when that is impossible."""
    if NODE is None:
        pytest.skip("node is not installed")
    result = subprocess.run(
        [NODE, "--input-type=module", "-e", script, "--", *args],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "ERR_MODULE_NOT_FOUND" in result.stderr:
        pytest.skip(f"npm package missing under {NODE_DIR}: see this module's docstring")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


OCTOKIT_SIGN = """
import { sign } from "@octokit/webhooks-methods";
const [secret, payload] = process.argv.slice(-2);
console.log(await sign(secret, payload));
"""
OCTOKIT_VERIFY = """
import { verify } from "@octokit/webhooks-methods";
const [secret, payload, signature] = process.argv.slice(-3);
console.log(await verify(secret, payload, signature));
"""
LINEAR_VERIFY = """
import { LinearWebhookClient } from "@linear/sdk/webhooks";
const [secret, body, signature] = process.argv.slice(-3);
console.log(new LinearWebhookClient(secret).verify(Buffer.from(body), signature));
"""

SECRET = "It's a Secret to Everybody"
BODY = '{"action":"opened","number":1}'


def test_octokit_signature_verifies() -> None:
    signature = run_node(OCTOKIT_SIGN, SECRET, BODY)
    request = make_request(BODY.encode(), [("X-Hub-Signature-256", signature)])
    assert github.verify(request, SECRET, NOW).valid


def test_our_github_signature_passes_octokit() -> None:
    signed = github.sign(BODY.encode(), SECRET, 0)
    assert run_node(OCTOKIT_VERIFY, SECRET, BODY, dict(signed.headers)["X-Hub-Signature-256"]) == "true"


def test_our_linear_signature_passes_the_linear_sdk() -> None:
    # The Linear SDK checks webhookTimestamp against the real clock, so sign at the current time.
    now = int(time.time())
    signed = linear.sign(json.dumps({"action": "create", "type": "Issue"}).encode(), "lin_wh_secret", now)
    output = run_node(
        LINEAR_VERIFY, "lin_wh_secret", signed.body.decode(), dict(signed.headers)["Linear-Signature"]
    )
    assert output == "true"
    assert linear.verify(from_signed(signed), "lin_wh_secret", now).valid
