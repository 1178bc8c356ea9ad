"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

No WebDriver and no websocket library: Chromium reads NUL-terminated JSON commands on fd 3 and
writes responses and events on fd 4. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["Browser", "ensure_chromium"]

ROOT = Path(__file__).resolve().parents[2]
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--remote-debugging-pipe",
)


def ensure_chromium() -> str:
    """The ``chromium`` binary; installs Debian's package through ``.ci/system-deps.sh``
    (as root) when it is missing, else fails saying what to install."""
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


class Browser:
    def __init__(self, binary: str, user_data_dir: Path, log_path: Path) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()
        argv = [binary, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"]
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            ["bash", "-c", f"exec {shlex.join(argv)} 3<&{cmd_r} 4>&{out_w}"],
            pass_fds=(cmd_r, out_w),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        os.close(cmd_r)
        os.close(out_w)
        self._next_id = 0
        self._responses: dict[int, queue.Queue[dict]] = {}
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session: str | None = None

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._out_r, 65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        box = self._responses.get(message["id"])
                    if box is not None:
                        box.put(message)

    def call(self, method: str, timeout_s: float = 10.0, **params: Any) -> dict:
        with self._lock:
            self._next_id += 1
            call_id = self._next_id
            box: queue.Queue[dict] = queue.Queue()
            self._responses[call_id] = box
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        try:
            reply = box.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError(f"no answer to {method} within {timeout_s} s") from None
        finally:
            with self._lock:
                self._responses.pop(call_id, None)
        if "error" in reply:
            raise RuntimeError(f"{method} failed: {reply['error']}")
        return reply.get("result", {})

    def open(self, url: str) -> None:
        target = self.call("Target.createTarget", url=url)["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, predicate, timeout_s: float = 10.0) -> Any:  # noqa: ANN001
        """Evaluate ``expression`` until ``predicate(value)``; the last value on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.evaluate(expression)
            if predicate(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s; the page shows {value!r}")
            time.sleep(0.05)

    def close(self) -> None:
        try:
            os.close(self._cmd_w)  # Chromium exits when its command pipe closes
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self._out_r)
        self._log.close()
