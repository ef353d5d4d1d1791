"""The welcome worker runs several jobs at once (its jobs mostly wait on WeCom), and stops cleanly."""
from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis as redis_lib
from rq.worker import BaseWorker, SimpleWorker

from scrm.config import settings
from scrm.queueing import get_queue
from scrm.worker import make_pooled_worker

ROOT = Path(__file__).resolve().parents[2]


def record_interval(key: str, url: str) -> None:
    """A job that notes when it starts and ends (imported by the worker subprocess)."""
    client = redis_lib.Redis.from_url(url)
    client.rpush(f"{key}:start", time.time())
    time.sleep(0.3)
    client.rpush(f"{key}:end", time.time())


def test_a_welcome_worker_runs_jobs_concurrently_and_stops_on_sigterm(app, redis_client):
    url = settings(app).redis_url
    for n in range(4):
        get_queue("welcome").enqueue("tests.welcome.test_worker.record_interval", "jobs", url, job_id=f"w{n}")
    env = dict(os.environ, PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scrm", "worker", "welcome",
                               "--threads", "4"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while redis_client.llen("jobs:end") < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        starts = [float(v) for v in redis_client.lrange("jobs:start", 0, -1)]
        ends = [float(v) for v in redis_client.lrange("jobs:end", 0, -1)]
        assert len(ends) == 4
        assert max(starts) < min(ends)  # all four were running at the same moment
        (worker_key,) = redis_client.smembers("rq:workers")  # one registered worker for the process
        assert redis_client.hget(worker_key, "queues") == b"welcome"
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    assert redis_client.smembers("rq:workers") == set()  # every thread's worker unregistered


def test_a_helper_thread_runs_jobs_and_unregisters_when_stopped(app, redis_client):
    url = settings(app).redis_url
    pooled = make_pooled_worker(app, ["welcome"], threads=2)
    (helper,) = pooled.helpers
    thread = threading.Thread(target=helper.run, args=(pooled.stop_helpers, "WARNING"), daemon=True)
    thread.start()
    get_queue("welcome").enqueue("tests.welcome.test_worker.record_interval", "helper", url, job_id="h1")
    deadline = time.monotonic() + 20
    while redis_client.llen("helper:end") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert redis_client.llen("helper:end") == 1 and helper.performed == 1
    assert redis_client.smembers("rq:workers") == {helper.key.encode()}
    pooled.stop_helpers.set()
    thread.join(10)
    assert not thread.is_alive()
    assert redis_client.smembers("rq:workers") == set()


def test_a_stop_while_the_helper_threads_are_being_started_is_clean(app, redis_client):
    from scrm.worker import _stop_helpers

    pooled = make_pooled_worker(app, ["welcome"], threads=3)
    first, second = (threading.Thread(target=helper.run, args=(pooled.stop_helpers, "WARNING"), daemon=True)
                     for helper in pooled.helpers)
    pooled.threads = [first, second]
    first.start()  # SIGTERM arrived before the second one was started
    deadline = time.monotonic() + 20
    while not redis_client.smembers("rq:workers") and time.monotonic() < deadline:
        time.sleep(0.05)

    _stop_helpers(pooled, grace=20)

    assert not first.is_alive() and second.ident is None
    assert redis_client.smembers("rq:workers") == set()


# RQ methods the worker calls or overrides, with the parameters it relies on.
RQ_METHODS = {
    "bootstrap": ["self", "logging_level", "date_format", "log_format"],
    "check_for_suspension": ["self", "burst"],
    "dequeue_job_and_maintain_ttl": ["self", "timeout", "max_idle_time"],
    "execute_job": ["self", "job", "queue"],
    "perform_job": ["self", "job", "queue"],
    "heartbeat": ["self", "timeout", "pipeline"],
    "teardown": ["self"],
    "request_stop": ["self", "signum", "frame"],
    "register_death": ["self"],
    "get_state": ["self"],
}


def test_the_rq_methods_the_worker_relies_on_are_unchanged():
    """Fails loudly on an RQ upgrade that renames or reshapes what scrm/worker.py uses."""
    for name, params in RQ_METHODS.items():
        assert list(inspect.signature(getattr(SimpleWorker, name)).parameters) == params, name
    work = inspect.getsource(BaseWorker.work)
    # The hooks run inside work() after the scheduler process is forked, in this order.
    assert (work.index("self._start_scheduler(") < work.index("self.dequeue_job_and_maintain_ttl(")
            < work.index("self.execute_job("))
