"""``server/nilm`` is a pure core like ``server/stats``: no web, broker or MQTT library, and
from the server only ``server.stats`` and itself."""

from __future__ import annotations

from tests.server.stats.test_purity import FORBIDDEN, imported_modules, package_files


def test_nilm_is_pure():
    offenders = {
        f"{path.name}: {name}"
        for path in package_files("server/nilm")
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
        or (name.startswith("server") and not name.startswith(("server.nilm", "server.stats")))
    }
    assert not offenders, sorted(offenders)
