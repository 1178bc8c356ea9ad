"""Real servers for tests: ``redis-server`` and ``mosquitto`` on free loopback ports.

Each is started as a child process with its own temporary directory, waited for with a bounded
poll of its TCP port (never a fixed sleep), and stopped when the fixture ends. ``restart()``
stops and starts the same server on the same port, for outage tests.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["MosquittoServer", "RedisServer", "free_port", "wait_for_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, *, timeout_s: float = 10.0, proc: subprocess.Popen | None = None
) -> None:
    """Return once ``127.0.0.1:port`` accepts connections; raise after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing listening on 127.0.0.1:{port} after {timeout_s}s"
                ) from None
            time.sleep(0.02)


def _find(binary: str, *extra_dirs: str) -> str:
    path = shutil.which(binary) or next(
        (str(Path(d) / binary) for d in extra_dirs if (Path(d) / binary).exists()), None
    )
    if path is None:
        raise RuntimeError(f"{binary} is not installed; run `make test` (it installs it)")
    return path


class _Server:
    port: int
    proc: subprocess.Popen | None = None

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.log = workdir / "server.log"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self._command(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_port(self.port, proc=self.proc)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self):  # noqa: ANN204
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RedisServer(_Server):
    """A throw-away ``redis-server`` (no persistence) on a free loopback port."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        return [
            _find("redis-server"),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--protected-mode",
            "yes",
        ]


class MosquittoServer(_Server):
    """A throw-away ``mosquitto`` broker (anonymous, in-memory) on a free loopback port."""

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            f"persistence true\npersistence_location {self.workdir}/\n"
            # started as root, mosquitto drops to the user 'mosquitto', which cannot write the
            # persistence file into our directory; stay the user we are
            f"user {getpass.getuser()}\n"
            "log_dest stdout\n"
        )
        return [_find("mosquitto", "/usr/sbin"), "-c", str(conf)]


os.environ.setdefault("GRIDLIGHT_TESTING", "1")
