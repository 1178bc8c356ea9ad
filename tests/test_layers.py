"""The layers point one way (DESIGN.md, "Architecture rules"), read from every import.

::

    generator  ←  server core  ←  feature packages (server/alerts, insights, control, reports,
                                   accounts, nilm, estimates)  ←  widget_api, server/dashboard

Imports are collected from the syntax tree, those inside functions included, and so are module
names given to ``importlib.import_module`` as string literals. The app factory
(``server/__init__.py``), the command line (``server/cli.py``) and the OpenAPI document's schemas
(``server/openapi/schemas.py``, which gathers every request body's model) are the wiring points:
they may name feature packages; nothing in ``server/`` names ``widget_api`` (it is found by its entry
point), and nothing imports the dashboard.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ("alerts", "insights", "control", "reports", "accounts", "nilm", "estimates")
PURE = ("server.stats", "server.nilm")
#: server/insights is a pure core (these modules: arrays in, values out) plus its HTTP and
#: service adapters; every module of the package must be listed in one of the two.
INSIGHTS_PURE = (
    "accuracy",
    "__init__",
    "carbon",
    "cli",
    "currencies",
    "errors",
    "features",
    "forecast",
    "hourly",
    "recommend",
    "schemas",
    "tariff",
)
INSIGHTS_ADAPTERS = (
    "data",
    "extension",
    "feeds",
    "history",
    "refresh",
    "service",
    "store",
    "views",
)
#: The OpenAPI document's schemas gather the request-body models of every layer.
WIRING = {"server", "server.cli", "server.__main__", "server.openapi.schemas"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names), including string-literal imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                name = f"{prefix}.{node.module}" if node.module else prefix
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "generator":
        return "generator"
    if parts[0] == "widget_api":
        return "top"
    if parts[0] == "server":
        if len(parts) > 1 and parts[1] == "dashboard":
            return "top"
        if len(parts) > 1 and parts[1] in FEATURES:
            return "feature"
        return "core"
    return "external"


RANK = {"generator": 0, "core": 1, "feature": 2, "top": 3}


def test_sources_are_found():
    assert len(sources("server", "generator", "widget_api")) > 50


@pytest.mark.parametrize(
    "path", sources("server", "generator", "widget_api"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_imports_point_down(path: Path):
    module = module_name(path)
    own = layer_of(module)
    wrong = []
    for target in sorted(imports_of(path)):
        layer = layer_of(target)
        if layer == "external":
            continue
        if target.startswith("server.dashboard") and not module.startswith("server.dashboard"):
            wrong.append(f"{target} (nothing imports the dashboard)")
        elif module in WIRING and layer in ("core", "feature", "generator"):
            continue
        elif RANK[layer] > RANK[own]:
            wrong.append(f"{target} ({layer} layer, above {own})")
    assert not wrong, f"{module} imports upwards: " + ", ".join(wrong)


def test_server_never_names_widget_api():
    named = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in sources("server")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "widget_api" in line
    ]
    assert not named, "server/ names widget_api: " + ", ".join(named)


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_use_no_flask_or_redis(package: str):
    folder = ROOT / package.replace(".", "/")
    if not folder.exists():
        pytest.skip(f"{package} does not exist yet")
    for path in sources(package.replace(".", "/")):
        bad = {
            t
            for t in imports_of(path)
            if t.split(".")[0] in ("flask", "redis", "paho", "gevent", "widget_api")
        }
        assert not bad, f"{module_name(path)} is pure but imports {sorted(bad)}"


def _impure(path: Path) -> set[str]:
    return {
        t
        for t in imports_of(path)
        if t.split(".")[0] in ("flask", "redis", "paho", "gevent", "widget_api", "sqlite3")
        or (t.startswith("server.") and layer_of(t) == "core")
    }


@pytest.mark.parametrize("name", INSIGHTS_PURE)
def test_the_insights_core_is_pure(name: str):
    """The insights' pure modules import neither Flask, Redis, gevent nor the server's core
    (storage, streaming, ...): only numpy/pandas/scikit-learn and each other."""
    path = ROOT / "server" / "insights" / f"{name}.py"
    bad = _impure(path) - {"server.insights"}
    bad = {t for t in bad if not t.startswith("server.insights")}
    assert not bad, f"server.insights.{name} is pure but imports {sorted(bad)}"


def test_every_insights_module_is_classified():
    found = {p.stem for p in (ROOT / "server" / "insights").glob("*.py")}
    assert found == set(INSIGHTS_PURE) | set(INSIGHTS_ADAPTERS), (
        "classify each server/insights module as pure (INSIGHTS_PURE) or an adapter"
    )
    # the adapters really are the impure part (else they belong to the core)
    assert any(_impure(ROOT / "server" / "insights" / f"{n}.py") for n in INSIGHTS_ADAPTERS)


def test_the_checker_sees_function_level_and_string_imports(tmp_path: Path):
    sample = ROOT / "server" / "_layers_sample.py"
    sample.write_text(
        "import importlib\n"
        "def f():\n"
        "    from widget_api.state import x\n"
        "    importlib.import_module('server.alerts')\n",
        encoding="utf-8",
    )
    try:
        found = imports_of(sample)
    finally:
        sample.unlink()
    assert "widget_api.state" in found and "server.alerts" in found
    assert layer_of("widget_api.state") == "top" and layer_of("server.alerts.engine") == "feature"
