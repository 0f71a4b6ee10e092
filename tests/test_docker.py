"""The Docker image's recipe, checked without a daemon: its steps, its health check run for real, its lock.

`docker build` needs a daemon and the base image, which a test machine may not have; what can be
checked without them is checked here: the Dockerfile's instructions, the HEALTHCHECK command run
against a real server, and requirements.lock against pyproject.toml and the installed packages.
"""

from __future__ import annotations

import ast
import json
import shlex
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from conftest import free_port
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from inspector.config import Settings, bins_private_by_default, target_policy
from inspector.targets import TargetRefused

ROOT = Path(__file__).resolve().parents[1]
# The image's platform: python:3.11-slim on Linux.
IMAGE_ENVIRONMENT = {
    **default_environment(),
    "sys_platform": "linux",
    "platform_system": "Linux",
    "extra": "",
}


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip().removesuffix("\\") + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            keyword, _, rest = pending.strip().partition(" ")
            steps.append((keyword.upper(), rest.strip()))
            pending = ""
    return steps


def lock() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = [args for keyword, args in instructions() if keyword == "USER"]
    assert users, "no USER: the image would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0
    assert not gid or (gid.isdigit() and int(gid) != 0)


def test_dependencies_are_installed_from_the_lock_before_the_source_is_copied() -> None:
    steps = instructions()
    copies = [(n, args) for n, (keyword, args) in enumerate(steps) if keyword == "COPY"]
    installs = [
        (n, args) for n, (keyword, args) in enumerate(steps) if keyword == "RUN" and "pip install" in args
    ]
    deps_step = next(n for n, args in installs if "-r requirements.lock" in args)
    source_step = next(n for n, args in copies if "inspector" in args.split()[:-1])
    assert deps_step < source_step
    # Nothing but the lock is copied before the dependencies are installed: a source change keeps the layer.
    assert [args for n, args in copies if n < deps_step] == ["requirements.lock ./"]
    package_step = next(n for n, args in installs if n > source_step)
    assert "--no-deps" in steps[package_step][1] and "--no-deps" in steps[deps_step][1]


def test_the_lock_pins_every_dependency_and_everything_they_need() -> None:
    pins = lock()
    for requirement in declared():
        if requirement.marker and not requirement.marker.evaluate(IMAGE_ENVIRONMENT):
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements.lock: run python .ci/lock.py"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement}: run python .ci/lock.py"
        )
    # Closed: what each pinned package needs (as its installed metadata says) is pinned too.
    checked = 0
    for name, version in pins.items():
        try:
            installed = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if Version(installed.version) != version:
            continue
        checked += 1
        for text in installed.requires or []:
            needed = Requirement(text)
            if needed.marker and not needed.marker.evaluate(IMAGE_ENVIRONMENT):
                continue
            assert canonicalize_name(needed.name) in pins, f"{name} needs {needed}, not in requirements.lock"
    assert checked > len(pins) // 2, "too few pinned versions are installed here to check the lock"


# Modules that only load where their package is there by definition: the pytest plugin (pytest loads
# it) and the MCP server (`pip install 'webhook-inspector[mcp]'`, the extra named here).
ONLY_WITH = {
    "pytest_plugin.py": ("pytest", None),
    "mcp_server.py": ("mcp", "mcp"),
    "cli_mcp.py": ("mcp", "mcp"),
}


def test_every_package_the_code_imports_is_declared() -> None:
    """httpcore was imported by replay.py and only arrived through httpx: declared now, and kept so."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    imported: set[str] = set()
    for path in (ROOT / "inspector").rglob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
        if path.name in ONLY_WITH:
            package, extra = ONLY_WITH[path.name]
            found.discard(package)
            if extra is not None:
                assert any(package in text for text in project["optional-dependencies"][extra]), extra
        imported |= found
    third_party = imported - set(sys.stdlib_module_names) - {"inspector", "__future__"}
    distributions = metadata.packages_distributions()
    names = {canonicalize_name(requirement.name) for requirement in declared()}
    undeclared = {
        module: distributions.get(module)
        for module in third_party
        if not {canonicalize_name(d) for d in distributions.get(module, [])} & names
    }
    assert not undeclared, f"imported but not in [project] dependencies: {undeclared}"


def healthcheck() -> list[str]:
    (args,) = [args for keyword, args in instructions() if keyword == "HEALTHCHECK"]
    command = json.loads(args[args.index("CMD") + 3 :].strip())
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def test_the_health_check_asks_the_port_set_by_inspector_port(start_server) -> None:
    server = start_server()
    ok = subprocess.run(
        healthcheck(), env={"INSPECTOR_PORT": str(server.port)}, capture_output=True, timeout=30
    )
    assert ok.returncode == 0, ok.stderr
    elsewhere = subprocess.run(
        healthcheck(), env={"INSPECTOR_PORT": str(free_port())}, capture_output=True, timeout=30
    )
    assert elsewhere.returncode != 0


@pytest.mark.parametrize("variable", ["INSPECTOR_HOST", "INSPECTOR_PORT", "INSPECTOR_DB"])
def test_settings_come_from_variables_so_docker_run_e_can_change_them(variable: str) -> None:
    steps = instructions()
    env = " ".join(args for keyword, args in steps if keyword == "ENV")
    assert f"{variable}=" in env
    (cmd,) = [args for keyword, args in steps if keyword == "CMD"]
    flags = {"INSPECTOR_HOST": "--host", "INSPECTOR_PORT": "--port", "INSPECTOR_DB": "--db"}
    assert flags[variable] not in shlex.split(" ".join(json.loads(cmd))), "a flag in CMD would override -e"


def test_the_readme_recipe_for_forwarding_to_the_host_is_what_public_mode_needs() -> None:
    """In the image the server listens on 0.0.0.0: public mode. host.docker.internal is a private
    address (Docker's bridge gateway), refused unless named with --allow-target, as the README says."""
    readme = (ROOT / "README.md").read_text()
    assert "INSPECTOR_ALLOW_TARGETS=host.docker.internal" in readme
    assert "--allow-target host.docker.internal" in readme
    gateway = ["172.17.0.1"]
    image = Settings(host="0.0.0.0", db_path=Path("/data/inspector.db"))
    with pytest.raises(TargetRefused):
        target_policy(image).check_addresses("host.docker.internal", gateway)
    allowed = Settings(
        host="0.0.0.0", db_path=Path("/data/inspector.db"), allow_targets=("host.docker.internal",)
    )
    target_policy(allowed).check_url("http://host.docker.internal:3000/hook")
    target_policy(allowed).check_addresses("host.docker.internal", gateway)
    assert bins_private_by_default(image)
