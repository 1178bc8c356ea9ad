"""SSE load benchmark: Gridlight vs. a Flask-SSE baseline, same clients, same machine, same run.

``python benchmarks/bench_sse.py [--quick] [--steps 1000,2000,5000,10000] [--hold-s 45]``

For each system in turn, on loopback only:

1. a fresh ``redis-server`` on a free port (``--maxclients`` raised so Redis is not the limit);
2. the server under two gunicorn gevent workers (``WEB_CONCURRENCY=2``) and one publisher at 1 Hz
   of real time: Gridlight's ``python -m generator replay`` into its Redis streams, or the
   baseline's ``sse_baseline/publish.py`` calling Flask-SSE's ``sse.publish``;
3. load clients (``sse_client.py``, in ``--client-procs`` processes per system) open SSE streams
   at ``interval=1`` spread evenly over households A, B and C: for each of ``--steps`` the step's
   clients are opened (at ``--rate`` per second), held ``--hold-s`` seconds once all are
   connected, measured, and closed. Both systems run side by side and take turns at every step
   (who goes first alternates), so a change in the machine's background load hits both alike.

Per step it reports publish-to-receive latency p50/p99/max: the arrival time minus the
milliseconds of the event id's Redis stream entry (``<unix ms>-<seq>``), i.e. the time since the
publisher's ``XADD`` of the reading the event carries; both publishers ``XADD`` every reading, and
the baseline's ``sse.publish`` follows its ``XADD`` at once. ``p99ts`` is DESIGN.md's delivery
latency, ``arrival - (ts + interval_s)``, for reference only: Gridlight's replay stamps the reading
it publishes at wall-clock second ``T`` with ``ts = T`` and sends the 1 s window at once, so it may be
negative, while the baseline's publisher stamps it ``T - 1``. It also reports events lost (every id in
the household's Redis stream published during the window that a client did not receive, summed
over clients whose stream delivered a reading before the window opened; a client whose first
reading came later is counted as ``late`` and fails the step), duplicates, clients held (connected
at the end) / failed (never streamed) / dropped (by the server, then resumed), the gunicorn master's and workers'
RSS (peak over the hold) and the CPU used by server (also per delivered event, ``us/ev``), Redis,
clients and everything else on the machine (``othCPU``), in cores: latencies on a shared 2-core
machine depend on that background load, the CPU per event much less.

Targets for Gridlight: p99 < 250 ms with zero loss at every step it ran, server RSS < 1 GB, and
more clients held at p99 < 250 ms than the baseline. The process exits 1 when Gridlight misses
a target. Every loop is bounded in count and time, and every child process is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from tests.services import RedisServer, free_port, wait_for_port  # noqa: E402

HOUSEHOLDS = ("A", "B", "C")
P99_TARGET_MS = 250.0
RSS_TARGET_MB = 1024.0
COMMAND_TIMEOUT_S = 240.0
WARMUP_TIMEOUT_S = 120.0
GRACE_S = 3.0  # after a window closes, time for its last events to arrive before counting
WARMUP_STREAMS_PER_HOUSEHOLD = 6


# -- servers ---------------------------------------------------------------------------------


class BenchRedis(RedisServer):
    """``redis-server`` with ``maxclients`` raised (Flask-SSE needs one connection per client)."""

    def _command(self) -> list[str]:
        return [*super()._command(), "--maxclients", "19000", "--tcp-backlog", "4096"]


@dataclass
class System:
    """How to start one SSE server and its publisher, and where its events are recorded."""

    name: str
    server_cmd: Callable[[int], list[str]]
    publisher_cmd: Callable[[Path, str], list[str]]
    path: Callable[[str], str]
    stream_key: Callable[[str], str]
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    port: int = 0
    prewarm: bool = False  # run the server once before measuring (fills on-disk caches)


def gridlight_stream_key(household: str) -> str:
    from server.broker.redis import stream_key

    return stream_key(household)


def gridlight_system() -> System:
    return System(
        name="gridlight",
        server_cmd=lambda port: [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "docker" / "gunicorn.conf.py"),
            "server:create_app()",
        ],
        publisher_cmd=lambda dataset, redis_url: [
            sys.executable,
            "-m",
            "generator",
            "replay",
            "--dataset",
            str(dataset),
            "--households",
            *HOUSEHOLDS,
            "--to",
            redis_url,
        ],
        path=lambda h: f"/api/v1/households/{h}/stream?interval=1",
        stream_key=gridlight_stream_key,
        prewarm=True,
    )


def baseline_system() -> System:
    return System(
        name="flask-sse",
        # the same gunicorn settings as Gridlight (worker class, workers, connections, backlog,
        # timeouts); only the app differs
        server_cmd=lambda port: [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "docker" / "gunicorn.conf.py"),
            "--chdir",
            str(HERE / "sse_baseline"),
            "app:create_app()",
        ],
        publisher_cmd=lambda dataset, redis_url: [
            sys.executable,
            str(HERE / "sse_baseline" / "publish.py"),
            "--dataset",
            str(dataset),
            "--households",
            *HOUSEHOLDS,
            "--to",
            redis_url,
        ],
        path=lambda h: f"/stream?channel={h}",
        stream_key=lambda h: f"bench:baseline:{h}",
    )


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def stop_process(proc: subprocess.Popen | None, timeout_s: float = 15.0, sig: int = 0) -> None:
    """Stop one child we started: ``sig`` (SIGTERM by default), bounded wait, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig or signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout_s)


def process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss_mb(pid: int) -> float:
    total = 0
    for p in process_tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def worker_split(master_pid: int, port: int) -> str:
    """Established client connections per gunicorn worker, e.g. ``"5012/4988"``."""
    counts = []
    for p in process_tree(master_pid)[1:]:
        try:
            conns = p.net_connections(kind="tcp")
        except psutil.Error:
            continue
        counts.append(
            sum(1 for c in conns if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)
        )
    return "/".join(str(c) for c in counts)


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all processes, all cores)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def tree_cpu_s(pid: int) -> float:
    total = 0.0
    for p in process_tree(pid):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


# -- load clients ------------------------------------------------------------------------------


class ClientProcs:
    """The load-client processes and their JSON-lines command channel."""

    def __init__(self, count: int, logdir: Path) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, str(HERE / "sse_client.py")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=open(logdir / f"client{i}.log", "wb"),  # noqa: SIM115
            )
            for i in range(count)
        ]
        self.buffers = [b""] * count

    def command_all(self, cmds: list[dict], timeout_s: float = COMMAND_TIMEOUT_S) -> list[dict]:
        for proc, cmd in zip(self.procs, cmds, strict=True):
            assert proc.stdin is not None
            proc.stdin.write((json.dumps(cmd) + "\n").encode())
            proc.stdin.flush()
        return [self._answer(i, timeout_s) for i in range(len(self.procs))]

    def _answer(self, i: int, timeout_s: float) -> dict:
        proc = self.procs[i]
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self.buffers[i]:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"load client {i} did not answer within {timeout_s}s")
                if sel.select(left):
                    chunk = os.read(proc.stdout.fileno(), 1 << 20)
                    if not chunk:
                        raise RuntimeError(f"load client {i} exited (status {proc.poll()})")
                    self.buffers[i] += chunk
        line, _, self.buffers[i] = self.buffers[i].partition(b"\n")
        return json.loads(line)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def close(self) -> None:
        for proc in self.procs:
            try:
                if proc.poll() is None and proc.stdin is not None:
                    proc.stdin.write(b'{"cmd": "close"}\n')
                    proc.stdin.close()
            except OSError:
                pass
        for proc in self.procs:
            stop_process(proc, timeout_s=10)


# -- one step ----------------------------------------------------------------------------------


@dataclass
class StepResult:
    system: str
    clients: int
    held: int = 0
    failed: int = 0
    late: int = 0  # first reading only during the window (not counted for loss)
    split: str = ""  # established connections per worker
    drops: int = 0
    reconnects: int = 0
    events: int = 0
    lost: int = 0
    clients_with_loss: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    expected_per_client: float = 0.0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    p99_ts_ms: float = math.nan
    server_rss_mb: float = 0.0
    redis_rss_mb: float = 0.0
    server_cpu: float = 0.0
    redis_cpu: float = 0.0
    publisher_cpu: float = 0.0
    client_cpu: list[float] = field(default_factory=list)
    other_cpu: float = 0.0  # everything else on the machine (other users' jobs skew results)
    ramp_s: float = 0.0
    hold_s: float = 0.0
    counted_s: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.held == self.clients
            and self.failed == 0
            and self.late == 0
            and self.lost == 0
            and self.p99_ms < P99_TARGET_MS
        )


def percentile_ms(hist: dict[int, int], q: float) -> float:
    total = sum(hist.values())
    if total == 0:
        return math.nan
    rank = q / 100.0 * total
    seen = 0
    for ms in sorted(hist):
        seen += hist[ms]
        if seen >= rank:
            return float(ms)
    return float(max(hist))


def merge_hist(reports: list[dict], key: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for r in reports:
        for ms, count in r[key].items():
            out[int(ms)] = out.get(int(ms), 0) + count
    return out


def expected_ids(rds: redis.Redis, system: System, t0_ms: int, t1_ms: int) -> dict[str, list[str]]:
    out = {}
    for h in HOUSEHOLDS:
        entries = rds.xrange(system.stream_key(h), min=str(t0_ms), max=str(t1_ms))
        out[system.path(h)] = [eid.decode() for eid, _ in entries]
    return out


# -- driver ------------------------------------------------------------------------------------


def warm_up(port: int, system: System, timeout_s: float = WARMUP_TIMEOUT_S) -> None:
    """Wait until streams of every household deliver an event: statistics are computed and
    datasets loaded on first use, and the figures are meant for a warm server.

    Streams are opened one after another and held until the end, so that they spread over the
    workers (a busy worker leaves the next accept to an idle one) without many first requests
    arriving at a cold worker at once (see the report: that is a cold-start problem of its own).
    """
    deadline = time.monotonic() + timeout_s
    held: list[socket.socket] = []
    try:
        for _ in range(WARMUP_STREAMS_PER_HOUSEHOLD):
            for h in HOUSEHOLDS:
                while True:
                    server = system.procs["server"]
                    if server.poll() is not None:
                        raise RuntimeError(f"{system.name}: server exited with {server.returncode}")
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{system.name}: no event on {system.path(h)} in time")
                    try:
                        sock = _first_event(port, system.path(h), deadline)
                    except OSError:
                        sock = None
                    if sock is not None:
                        held.append(sock)
                        break
                    time.sleep(0.2)
    finally:
        for sock in held:
            sock.close()


def _first_event(port: int, path: str, deadline: float) -> socket.socket | None:
    """A connected socket whose stream has delivered an event, or None."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        while time.monotonic() < deadline:
            sock.settimeout(max(0.1, min(5.0, deadline - time.monotonic())))
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if b" 200 " not in data.split(b"\r\n", 1)[0] and b"\r\n" in data:
                break
            if b"data:" in data and b"id:" in data:
                return sock
    except BaseException:
        sock.close()
        raise
    sock.close()
    return None


def start_server(system: System, env: dict[str, str], log_path: Path, logs: list) -> None:
    log = open(log_path, "wb")  # noqa: SIM115
    logs.append(log)
    system.procs["server"] = subprocess.Popen(
        system.server_cmd(system.port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


@dataclass
class Running:
    """One system started for the benchmark, with its own Redis and load clients."""

    system: System
    redis_server: RedisServer
    clients: ClientProcs | None = None
    rds: redis.Redis | None = None
    targets: list = field(default_factory=list)
    logs: list = field(default_factory=list)
    results: list[StepResult] = field(default_factory=list)
    done: bool = False  # saturated or broken: no larger steps


def start_system(system: System, args: argparse.Namespace, workdir: Path) -> Running:
    """Redis, publisher and server (warm), and idle load-client processes."""
    sysdir = workdir / system.name
    sysdir.mkdir()
    (sysdir / "redis").mkdir()
    run = Running(system, BenchRedis(sysdir / "redis"))
    run.redis_server.start()
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": run.redis_server.url,
        "WEB_CONCURRENCY": str(args.workers),
        "PORT": str(port),
        "GRIDLIGHT_DATA_DIR": str(args.data_dir),
        # as on the hosted demo: households A, B and C are readable without a key
        "GRIDLIGHT_DEMO": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("GRIDLIGHT_TESTING", None)
    system.port = port
    log = open(sysdir / "publisher.log", "wb")  # noqa: SIM115
    run.logs.append(log)
    system.procs["publisher"] = subprocess.Popen(
        system.publisher_cmd(args.dataset, run.redis_server.url),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    if system.prewarm and not args.quick:
        # a first server fills the on-disk caches (quick statistics), then a fresh one is
        # measured: the figures are a warm server's, not a cold start's
        t = time.monotonic()
        start_server(system, env, sysdir / "server-prewarm.log", run.logs)
        try:
            wait_for_port(port, timeout_s=60, proc=system.procs["server"])
            warm_up(port, system, timeout_s=600)
        finally:
            stop_process(system.procs.pop("server"), sig=signal.SIGINT)
        print(f"  {system.name}: pre-warm run took {time.monotonic() - t:.0f}s", flush=True)
    start_server(system, env, sysdir / "server.log", run.logs)
    wait_for_port(port, timeout_s=60, proc=system.procs["server"])
    warm_up(port, system, timeout_s=600 if args.quick else WARMUP_TIMEOUT_S)
    run.clients = ClientProcs(args.client_procs, sysdir)
    run.rds = redis.Redis.from_url(run.redis_server.url)
    run.targets = [["127.0.0.1", port, system.path(h), 1] for h in HOUSEHOLDS]
    return run


def stop_system(run: Running) -> None:
    if run.clients is not None:
        run.clients.close()
    for proc in run.system.procs.values():
        stop_process(proc, sig=signal.SIGINT)  # gunicorn: quick shutdown
    run.redis_server.stop()
    for log in run.logs:
        log.close()


def step_system(run: Running, args: argparse.Namespace, n: int) -> None:
    """One step on one system: ramp ``n`` clients from none, measure, then close them all."""
    system = run.system
    assert run.clients is not None and run.rds is not None
    try:
        result = run_step(system, args, run.clients, run.rds, run.redis_server, run.targets, 0, n)
    finally:
        run.clients.command_all([{"cmd": "reset"}] * len(run.clients.procs))
    run.results.append(result)
    print(format_row(result), flush=True)
    for name, proc in system.procs.items():
        if proc.poll() is not None:
            print(f"  {system.name} {name} exited with {proc.returncode}", flush=True)
            run.done = True
    if result.held < 0.9 * n or not (result.p99_ms < args.give_up_ms):
        print(f"  {system.name} saturated at {n} clients; skipping larger steps", flush=True)
        run.done = True


def run_step(
    system: System,
    args: argparse.Namespace,
    clients: ClientProcs,
    rds: redis.Redis,
    redis_server: RedisServer,
    targets: list,
    opened: int,
    n: int,
) -> StepResult:
    procs = len(clients.procs)
    new = n - opened
    share = [new // procs + (1 if i < new % procs else 0) for i in range(procs)]
    offsets, at = [], opened
    for s in share:
        offsets.append(at)
        at += s
    t_ramp = time.monotonic()
    answers = clients.command_all(
        [
            {"cmd": "open", "targets": targets, "n": s, "offset": o, "rate": args.rate / procs}
            for s, o in zip(share, offsets, strict=True)
        ]
    )
    ramp_s = time.monotonic() - t_ramp
    errors: dict[str, int] = {}
    for a in answers:
        for k, v in a["errors"].items():
            errors[k] = errors.get(k, 0) + v
    time.sleep(args.settle_s)  # let every new client get its first event
    clients.command_all([{"cmd": "mark"}] * procs)
    t0 = time.time()
    server_pid = system.procs["server"].pid
    redis_pid = redis_server.proc.pid if redis_server.proc else 0
    pub_pid = system.procs["publisher"].pid
    machine0 = machine_busy_s()
    cpu0 = (
        tree_cpu_s(server_pid),
        tree_cpu_s(redis_pid),
        tree_cpu_s(pub_pid),
        [tree_cpu_s(p) for p in clients.pids()],
    )
    peak_rss = peak_redis = 0.0
    end = time.monotonic() + args.hold_s
    while time.monotonic() < end:
        peak_rss = max(peak_rss, tree_rss_mb(server_pid))
        peak_redis = max(peak_redis, tree_rss_mb(redis_pid))
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
    t1 = time.time()
    hold = t1 - t0
    machine1 = machine_busy_s()
    cpu1 = (
        tree_cpu_s(server_pid),
        tree_cpu_s(redis_pid),
        tree_cpu_s(pub_pid),
        [tree_cpu_s(p) for p in clients.pids()],
    )
    time.sleep(GRACE_S)
    expected = expected_ids(rds, system, int(t0 * 1000) + 1, int(t1 * 1000))
    reports = clients.command_all([{"cmd": "report", "expected": expected}] * procs)
    counted_s = time.time() - t0  # events are counted from the mark until the report
    hist_pub = merge_hist(reports, "hist_pub")
    hist_ts = merge_hist(reports, "hist_ts")
    hist = hist_pub or hist_ts
    n_expected = sum(len(v) for v in expected.values())
    return StepResult(
        system=system.name,
        clients=n,
        held=sum(r["connected"] for r in reports),
        failed=sum(r["failed"] for r in reports),
        late=sum(r["late"] for r in reports),
        split=worker_split(server_pid, system.port),
        drops=sum(r["drops"] for r in reports),
        reconnects=sum(r["reconnects"] for r in reports),
        events=sum(r["events"] for r in reports),
        lost=sum(r["lost"] for r in reports),
        clients_with_loss=sum(r["clients_with_loss"] for r in reports),
        duplicates=sum(r["duplicates"] for r in reports),
        out_of_order=sum(r["out_of_order"] for r in reports),
        expected_per_client=n_expected / len(HOUSEHOLDS),
        p50_ms=percentile_ms(hist, 50),
        p99_ms=percentile_ms(hist, 99),
        max_ms=float(max(hist)) if hist else math.nan,
        p99_ts_ms=percentile_ms(hist_ts, 99),
        server_rss_mb=peak_rss,
        redis_rss_mb=peak_redis,
        server_cpu=(cpu1[0] - cpu0[0]) / hold,
        redis_cpu=(cpu1[1] - cpu0[1]) / hold,
        publisher_cpu=(cpu1[2] - cpu0[2]) / hold,
        client_cpu=[(b - a) / hold for a, b in zip(cpu0[3], cpu1[3], strict=True)],
        other_cpu=max(
            0.0,
            (
                machine1
                - machine0
                - (cpu1[0] - cpu0[0])
                - (cpu1[1] - cpu0[1])
                - (cpu1[2] - cpu0[2])
                - sum(cpu1[3])
                + sum(cpu0[3])
            )
            / hold,
        ),
        ramp_s=ramp_s,
        hold_s=hold,
        counted_s=counted_s,
        errors=errors,
    )


HEADER = (
    f"{'system':<9} {'clients':>7} {'held':>6} {'fail':>5} {'late':>4} {'drop':>4} {'ev/s':>6} "
    f"{'p50ms':>5} {'p99ms':>5} {'maxms':>5} {'p99ts':>5} {'lost':>5} {'dup':>3} "
    f"{'rssMB':>5} {'rdsMB':>5} {'srvCPU':>6} {'us/ev':>5} {'rdsCPU':>6} {'cliCPU':>9} {'othCPU':>6} "
    f"{'ramp_s':>6} split"
)


def format_row(r: StepResult) -> str:
    cli = "+".join(f"{c:.2f}" for c in r.client_cpu)
    rate = r.events / r.counted_s if r.counted_s else 0.0
    # server CPU per delivered event [us]: the cost that background load does not change much
    us_per_event = r.server_cpu / rate * 1e6 if rate else math.nan
    row = (
        f"{r.system:<9} {r.clients:>7} {r.held:>6} {r.failed:>5} {r.late:>4} {r.drops:>4} "
        f"{rate:>6.0f} {r.p50_ms:>5.0f} {r.p99_ms:>5.0f} {r.max_ms:>5.0f} {r.p99_ts_ms:>5.0f} "
        f"{r.lost:>5} {r.duplicates:>3} {r.server_rss_mb:>5.0f} {r.redis_rss_mb:>5.0f} "
        f"{r.server_cpu:>6.2f} {us_per_event:>5.0f} {r.redis_cpu:>6.2f} {cli:>9} {r.other_cpu:>6.2f} {r.ramp_s:>6.1f} "
        f"{r.split}"
    )
    if r.errors:
        row += f"  errors={r.errors}"
    return row


def max_held(results: list[StepResult]) -> int:
    """Largest step held entirely, lossless, at p99 < 250 ms (steps are increasing)."""
    best = 0
    for r in results:
        if r.ok:
            best = max(best, r.clients)
    return best


def prepare_dataset(args: argparse.Namespace) -> None:
    """The demo dataset under ``data/`` (what ``make run`` serves), generated if missing.

    Its directory also keeps Gridlight's quick-statistics cache between runs.
    """
    if args.dataset is None:
        args.dataset = ROOT / "data" / "demo"
        t = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "generator", "demo", "--out", str(args.dataset)],
            cwd=ROOT,
            check=True,
            timeout=600,
            stdout=subprocess.DEVNULL,
        )
        print(f"demo dataset ready at {args.dataset} in {time.monotonic() - t:.1f}s", flush=True)
    args.dataset = args.dataset.resolve()
    args.data_dir = args.dataset.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small steps, short holds (smoke run)")
    parser.add_argument(
        "--steps", help="comma-separated client counts (default 1000,2000,5000,10000)"
    )
    parser.add_argument("--hold-s", type=float, help="seconds each step is held (default 45)")
    parser.add_argument("--settle-s", type=float, help="after a ramp, before measuring (3 s)")
    parser.add_argument("--rate", type=float, default=500.0, help="new connections per second")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--systems", default="gridlight,flask-sse")
    parser.add_argument(
        "--dataset", type=Path, help="dataset directory (default: data/demo, generated if missing)"
    )
    parser.add_argument(
        "--give-up-ms", type=float, default=10_000.0, help="stop ramping a system past this p99"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    if args.steps is None:
        args.steps = "100,300" if args.quick else "1000,2000,5000,10000"
    if args.settle_s is None:
        args.settle_s = 2.0 if args.quick else 3.0
    if args.hold_s is None:
        args.hold_s = 6.0 if args.quick else 45.0
    try:
        args.steps = [int(s) for s in args.steps.split(",")]
    except ValueError:
        parser.error(f"--steps must be comma-separated integers, got {args.steps!r}")
    if any(s <= 0 for s in args.steps) or args.steps != sorted(args.steps):
        parser.error(f"--steps must be positive and increasing, got {args.steps}")
    if args.hold_s <= 0 or args.hold_s > 600:
        parser.error(f"--hold-s must be in (0, 600], got {args.hold_s}")
    if not 1 <= args.client_procs <= 8:
        parser.error(f"--client-procs must be 1-8, got {args.client_procs}")
    known = {"gridlight": gridlight_system, "flask-sse": baseline_system}
    names = args.systems.split(",")
    for name in names:
        if name not in known:
            parser.error(f"unknown system {name!r} (known: {', '.join(known)})")
    args.systems = [known[name] for name in names]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limit = raise_fd_limit()
    need = 2 * max(args.steps) // max(1, args.client_procs) + 1000
    print(
        f"bench_sse: steps {args.steps}, hold {args.hold_s:.0f}s, {args.workers} workers, "
        f"{args.client_procs} client processes, fd limit {limit}, {os.cpu_count()} CPUs",
        flush=True,
    )
    if limit < need:
        print(f"warning: fd limit {limit} may be too low for {max(args.steps)} clients")
    workdir = Path(tempfile.mkdtemp(prefix="bench_sse_"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    all_results: dict[str, list[StepResult]] = {}
    runs: list[Running] = []
    try:
        prepare_dataset(args)
        for make in args.systems:
            system = make()
            all_results[system.name] = []
            try:
                runs.append(start_system(system, args, workdir))
            except (TimeoutError, RuntimeError, OSError, subprocess.SubprocessError) as err:
                print(f"{system.name}: start failed: {err}", flush=True)
        print(HEADER, flush=True)
        # systems take turns at each step (alternating who goes first), so that a change in the
        # machine's background load affects both alike
        for i, n in enumerate(args.steps):
            for run in runs if i % 2 == 0 else runs[::-1]:
                if run.done:
                    continue
                try:
                    step_system(run, args, n)
                except (TimeoutError, RuntimeError, OSError) as err:
                    print(f"{run.system.name}: step {n} failed: {err}", flush=True)
                    run.done = True
        for run in runs:
            all_results[run.system.name] = run.results
    finally:
        for run in runs:
            stop_system(run)
        if args.keep:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return verdict(all_results, args)


def verdict(all_results: dict[str, list[StepResult]], args: argparse.Namespace) -> int:
    print()
    print(HEADER)
    for results in all_results.values():
        for r in results:
            print(format_row(r))
    print()
    held = {name: max_held(results) for name, results in all_results.items()}
    for name, n in held.items():
        print(f"max clients held at p99 < {P99_TARGET_MS:.0f} ms, lossless: {name} {n}")
    grid = all_results.get("gridlight")
    if grid is None:
        return 0
    checks = {
        f"p99 < {P99_TARGET_MS:.0f} ms with zero loss at every step": bool(grid)
        and all(r.ok for r in grid)
        and len(grid) == len(args.steps),
        f"server RSS < {RSS_TARGET_MB:.0f} MB": bool(grid)
        and all(r.server_rss_mb < RSS_TARGET_MB for r in grid),
    }
    if "flask-sse" in held:
        base = all_results["flask-sse"]
        ahead = held["gridlight"] > held["flask-sse"]
        if not ahead and held["gridlight"] == held["flask-sse"] > 0:
            # both held every step: compare p99 at the largest step
            g = next(r for r in grid if r.clients == held["gridlight"])
            b = next(r for r in base if r.clients == held["flask-sse"])
            ahead = g.p99_ms <= b.p99_ms
        checks["ahead of the Flask-SSE baseline on clients held at that p99"] = ahead
    failed = False
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
        failed |= not ok
    aim = 10_000
    if max(args.steps) >= aim:
        print(f"{'PASS' if held['gridlight'] >= aim else 'MISS'}  aim: {aim} clients")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
