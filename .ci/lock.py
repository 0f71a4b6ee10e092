"""Write requirements.lock: every runtime dependency, pinned, as the Docker image installs them.

    python .ci/lock.py

Resolves `pip install .` for this interpreter (use Python 3.11 on Linux, as the image does) without
installing anything, and writes one `name==version` line per package. Run it after changing
[project] dependencies in pyproject.toml; tests/test_docker.py fails until the lock matches.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = """\
# Every runtime dependency of webhook-inspector, pinned: the Docker image installs exactly these
# (pip install -r requirements.lock), then the package itself with --no-deps.
# Made by `python .ci/lock.py` with Python {python} on {platform}; do not edit by hand.
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        resolve = [
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            str(ROOT),
        ]
        subprocess.run([sys.executable, "-m", "pip", *resolve], check=True)  # noqa: S603 - our own arguments
        resolved = json.loads(report.read_text())["install"]
    pins = sorted(
        (item["metadata"]["name"], item["metadata"]["version"])
        for item in resolved
        if item["metadata"]["name"] != "webhook-inspector"
    )
    python = ".".join(map(str, sys.version_info[:2]))
    lines = [HEADER.format(python=python, platform=sys.platform)]
    lines += [f"{name}=={version}\n" for name, version in sorted(pins, key=lambda pin: pin[0].lower())]
    (ROOT / "requirements.lock").write_text("".join(lines))


if __name__ == "__main__":
    main()
