"""``promtool check metrics`` (Debian's ``prometheus`` package, which ``make test`` installs) and
a reader of the exposition it checks.

Without promtool a test skips on a developer's machine and fails in CI (``CI`` set), where its
absence means that the install step is broken.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["check_metrics", "samples"]


def check_metrics(text: str) -> str:
    """Run ``promtool check metrics`` on ``text``; fail the test unless it exits 0; its output."""
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool not found (Debian package prometheus; `make test` installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool check metrics: exit {done.returncode}\n{output}"
    return output


def samples(text: str, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
    """The samples called ``name`` (e.g. ``x_count``) whose labels include ``labels``."""
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    ]
