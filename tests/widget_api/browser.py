"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright for Python.

Playwright launches the system binary through ``executable_path``; its own browsers are never
downloaded (``playwright install`` is not needed). Every wait is bounded by the page's default
timeout.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

__all__ = ["FLAGS", "chromium_page", "ensure_chromium"]

ROOT = Path(__file__).resolve().parents[2]
#: Chromium's switches for a root user in a container, with nothing phoning home.
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


def ensure_chromium() -> str:
    """The ``chromium`` binary; installs Debian's package through ``.ci/system-deps.sh``
    (as root) when it is missing, else fails saying what to install. ``make test`` installs it
    beforehand; this covers a bare ``pytest``."""
    found = shutil.which("chromium")
    if found is None:
        done = subprocess.run(
            ["bash", str(ROOT / ".ci" / "system-deps.sh"), "chromium"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        found = shutil.which("chromium")
        if found is None:
            raise RuntimeError(f"chromium is needed for the browser test: {done.stderr.strip()}")
    return found


@contextmanager
def chromium_page(executable: str, timeout_s: float = 10.0) -> Iterator[Page]:
    """A fresh page in headless ``executable``; every Playwright wait on it ends within
    ``timeout_s`` (launching within 30 s)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(FLAGS), timeout=30_000
        )
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(timeout_s * 1000)
            page.set_default_navigation_timeout(timeout_s * 1000)
            yield page
        finally:
            browser.close()
