"""The welcome worker runs several jobs at once (its jobs mostly wait on WeCom), and stops cleanly."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis as redis_lib

from scrm.config import settings
from scrm.queueing import get_queue

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
        assert len(redis_client.smembers("rq:workers")) == 4  # one registered worker per thread
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    assert redis_client.smembers("rq:workers") == set()  # every thread's worker unregistered
