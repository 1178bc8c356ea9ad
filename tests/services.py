"""Real servers for tests: ``redis-server``, ``mosquitto`` and PostgreSQL on free loopback ports.

Each is started as a child process with its own temporary directory, waited for with a bounded
poll of its TCP port (never a fixed sleep), and stopped when the fixture ends. ``restart()``
stops and starts the same server on the same port, for outage tests.
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["MosquittoServer", "PostgresServer", "RedisServer", "free_port", "wait_for_port"]


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


def _pg_bin(binary: str) -> str:
    dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # newest first
    return _find(binary, *map(str, dirs))


class PostgresServer(_Server):
    """A throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl``-style postgres child) on a free
    loopback port, trust authentication for the role ``gridlight``.

    PostgreSQL refuses to run as root, and CI runs as root: then the cluster belongs to the
    unprivileged user ``nobody`` and lives in a directory of its own outside pytest's private
    temporary tree. :meth:`create_database` gives each test a fresh database.
    """

    USER = "gridlight"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.as_user: str | None = "nobody" if os.geteuid() == 0 else None
        self.cluster = Path(tempfile.mkdtemp(prefix="gridlight-pg-"))
        if self.as_user is not None:
            pw = pwd.getpwnam(self.as_user)
            os.chown(self.cluster, pw.pw_uid, pw.pw_gid)
        self.datadir = self.cluster / "data"
        self._databases = 0

    def _run_as(self) -> dict:
        if self.as_user is None:
            return {}
        pw = pwd.getpwnam(self.as_user)
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{database}"

    def _command(self) -> list[str]:
        return [
            _pg_bin("postgres"),
            "-D",
            str(self.datadir),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.cluster}",
            "-c",
            "fsync=off",  # a test cluster: durability across power loss does not matter
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=64MB",
        ]

    def start(self) -> None:
        if not (self.datadir / "PG_VERSION").exists():
            subprocess.run(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    self.USER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                **self._run_as(),
            )
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self._command(),
                cwd=self.cluster,
                stdout=log,
                stderr=subprocess.STDOUT,
                **self._run_as(),
            )
        wait_for_port(self.port, timeout_s=30, proc=self.proc)
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)  # fast shutdown: disconnect clients, then stop
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def create_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        self._databases += 1
        name = f"t{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.cluster, ignore_errors=True)


os.environ.setdefault("GRIDLIGHT_TESTING", "1")
