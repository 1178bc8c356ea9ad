"""``server/stats`` and ``generator`` stay pure: they import no web, broker or MQTT library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FORBIDDEN = {"flask", "werkzeug", "redis", "paho", "gevent", "gunicorn"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def package_files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}"
    return files


@pytest.mark.parametrize("package", ["server/stats", "generator"])
def test_no_forbidden_imports(package):
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in package_files(package)
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert not offenders, f"{package} must stay pure: {sorted(offenders)}"


def test_stats_imports_nothing_else_from_the_server():
    # Any other server module may pull in Flask or Redis, so server.stats stays self-contained.
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in package_files("server/stats")
        for name in imported_modules(path)
        if name.split(".")[0] == "server" and not name.startswith("server.stats")
    }
    assert not offenders, sorted(offenders)


def test_checker_sees_imports(tmp_path):
    # The check itself can fail: it finds plain, dotted and from-imports.
    sample = tmp_path / "m.py"
    sample.write_text("import flask\nfrom redis.asyncio import Redis\nimport paho.mqtt.client\n")
    assert {n.split(".")[0] for n in imported_modules(sample)} == {"flask", "redis", "paho"}
