"""gunicorn configuration of Gridlight's web process (``gunicorn -c docker/gunicorn.conf.py``).

* gevent worker (``-k gevent``): one greenlet per connection, so thousands of SSE clients per
  worker. No ``preload_app``: gevent patches in each worker after the fork (gunicorn #588), and
  the app is created there, after patching.
* ``bind`` 0.0.0.0:$PORT (5000). Workers: ``$WEB_CONCURRENCY``, default 2 with ``REDIS_URL``;
  without Redis the broker lives in the worker's memory, so exactly one worker.
* Workers count into prometheus_client's multiprocess directory (``PROMETHEUS_MULTIPROC_DIR``)
  so that ``/metrics`` merges them: a fresh temporary one per server unless given; a given one is
  emptied at start (figures of an earlier server would add up) unless ``python -m server run``
  made it for this server. A worker that exits leaves the live figures (``child_exit``).
* The soft open-files limit is raised to the hard one (one socket per SSE client).
* Each worker turns on direct socket writes of live events (``server.streaming.direct``) when its
  protocol is plain HTTP without gunicorn's own TLS, and ends its streams as soon as it is told
  to stop (``server.services.stop_with_worker``).
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile

wsgi_app = "server:create_app()"
bind = f"0.0.0.0:{int(os.environ.get('PORT', '5000'))}"
worker_class = "gevent"
preload_app = False
worker_connections = int(os.environ.get("GRIDLIGHT_WORKER_CONNECTIONS", "20000"))
_redis = bool(os.environ.get("REDIS_URL"))
workers = int(os.environ.get("WEB_CONCURRENCY") or (2 if _redis else 1))
if not _redis and workers != 1:
    print(
        f"gunicorn.conf: WEB_CONCURRENCY={workers} needs REDIS_URL (the in-process broker is per "
        "worker); running 1 worker",
        file=sys.stderr,
    )
    workers = 1
# pending connections the kernel queues while workers accept: thousands of SSE clients
# connecting at once overflow gunicorn's default of 2048 (SYN retries cost a client ~1 s)
backlog = 4096
timeout = 30
# gunicorn 27's control socket ($HOME/.gunicorn/gunicorn.ctl) is not used by Gridlight, and one
# fixed path would be shared by every server on the host.
control_socket_disable = True
graceful_timeout = 10
keepalive = 75
accesslog = os.environ.get("GRIDLIGHT_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GRIDLIGHT_LOG_LEVEL", "info")

_created_metrics_dir: str | None = None
#: set by ``python -m server run`` to the directory it made empty for this server (server/run.py)
FRESH_METRICS_DIR = "GRIDLIGHT_FRESH_METRICS_DIR"


def _raise_fd_limit() -> None:
    """Each SSE client holds a socket: lift the soft open-files limit to the hard one (many
    hosts default to 1024, which would cap a worker at about a thousand clients)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, worker_connections + 1024)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as err:
        print(f"gunicorn.conf: cannot raise the open-files limit: {err}", file=sys.stderr)


_raise_fd_limit()

# scikit-learn asks joblib (loky) for the number of physical cores the first time it fits, and
# loky finds it by running lscpu in a subprocess, which a gevent worker cannot start off its
# default loop (a traceback in the log). With OMP_NUM_THREADS set scikit-learn does not ask; one
# OpenMP thread is what the fits use anyway (server.insights, server.nilm: a shared host with
# gevent workers gains nothing from spinning OpenMP threads). LOKY_MAX_CPU_COUNT covers joblib's
# other callers.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LOKY_MAX_CPU_COUNT", str(os.cpu_count() or 1))


def post_worker_init(worker):  # noqa: ANN001, ANN201
    """Start the app's services (replay, ingest, alert evaluator, push sender: nothing starts in
    ``create_app``); live events go straight to client sockets when this worker frames responses
    as ``server.streaming.direct`` does (plain HTTP, no TLS of gunicorn's own); and when the
    worker is told to stop, the services stop and its streams end at once instead of being held
    for ``graceful_timeout`` and cut."""
    from server.services import stop_with_worker
    from server.streaming import direct

    direct.enable_for(worker.cfg)
    stop_with_worker(worker)


def worker_exit(server, worker):  # noqa: ANN001, ANN201
    """Let the app's stop (leases released, stores closed) finish before the process ends."""
    from server.services import wait_stopped

    wait_stopped(worker, timeout_s=graceful_timeout)


def on_starting(server):  # noqa: ANN001, ANN201
    """Before any worker: the multiprocess directory, set in the environment the workers inherit
    (prometheus_client reads it when a worker first imports it; never imported here before)."""
    global _created_metrics_dir
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not given:
        _created_metrics_dir = tempfile.mkdtemp(prefix="gridlight-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created_metrics_dir
    elif os.environ.get(FRESH_METRICS_DIR) != given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.remove(os.path.join(given, name))


def child_exit(server, worker):  # noqa: ANN001, ANN201
    """A worker has exited: its live gauges and process figures leave ``/metrics`` (its counts
    stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ANN001, ANN201
    if _created_metrics_dir:
        shutil.rmtree(_created_metrics_dir, ignore_errors=True)
