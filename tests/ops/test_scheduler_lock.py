"""A second scheduler started by mistake refuses to run: a Redis lease lock with a heartbeat."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

from scrm import scheduler_lock
from scrm.services import status
from tests.faults.support import ROOT, Process, wait_for

REFUSAL = re.compile(r"^another scheduler is running \(pid (\d+) on host (\S+), heartbeat \d+s ago\)$")


def test_a_second_scheduler_refuses_to_start_and_status_shows_the_heartbeat(app, runner, redis_client):
    lock = scheduler_lock.acquire(redis_client)  # the first scheduler
    try:
        result = runner.invoke(args=["scrm", "scheduler"])
        assert result.exit_code == 1
        [line] = result.output.splitlines()
        assert REFUSAL.match(line).groups() == (str(os.getpid()), socket.gethostname()), line
        shown = status.gather()["scheduler"]
        assert (shown["running"], shown["pid"], shown["host"]) == (True, os.getpid(), socket.gethostname())
        assert 0 <= shown["heartbeat_age_seconds"] <= scheduler_lock.LEASE_SECONDS
    finally:
        lock.release()
    assert status.gather()["scheduler"]["running"] is False


def test_the_lock_is_released_when_the_scheduler_stops(app, redis_client, monkeypatch):
    from apscheduler.schedulers.blocking import BlockingScheduler

    from scrm.worker import run_scheduler

    seen = []

    def start(self, *args, **kwargs):  # instead of blocking: look at the lock, then return
        seen.append(scheduler_lock.holder(redis_client))

    monkeypatch.setattr(BlockingScheduler, "start", start)
    run_scheduler(app)
    assert seen[0] is not None and seen[0].pid == os.getpid()
    assert scheduler_lock.holder(redis_client) is None


def _scheduler(env: dict, log_path) -> Process:
    return Process([sys.executable, "-m", "flask", "--app", "wsgi", "scrm", "scheduler"], env, log_path)


def test_two_scheduler_processes_one_runs_and_a_dead_ones_lock_lapses(app, redis_client, tmp_path):
    env = dict(os.environ)
    first = _scheduler(env, tmp_path / "first.log")
    try:
        assert wait_for(lambda: scheduler_lock.holder(redis_client) is not None, 60), first.output()
        assert scheduler_lock.holder(redis_client).pid == first.popen.pid
        second = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "scrm", "scheduler"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 1, second.stderr
        assert "Traceback" not in second.stderr
        line = second.stderr.strip().splitlines()[-1]
        assert REFUSAL.match(line).group(1) == str(first.popen.pid), second.stderr
        assert first.popen.poll() is None  # the first one is still running
    finally:
        first.kill()  # SIGKILL: no release; the lease must lapse on its own
    assert 0 < redis_client.pttl(scheduler_lock.LOCK_KEY) <= scheduler_lock.LEASE_SECONDS * 1000
    assert wait_for(lambda: scheduler_lock.holder(redis_client) is None, scheduler_lock.LEASE_SECONDS + 10)
    third = _scheduler(env, tmp_path / "third.log")
    try:
        assert wait_for(lambda: getattr(scheduler_lock.holder(redis_client), "pid", None) == third.popen.pid,
                        60), third.output()
    finally:
        third.kill()


def test_a_scheduler_whose_lock_is_taken_over_stops(app, redis_client, monkeypatch):
    """Redis unreachable for longer than the lease, and another scheduler started meanwhile:
    the first one finds out at its next renewal and stops, so two never keep running."""
    import threading

    from scrm.worker import SchedulerLockLost, run_scheduler

    monkeypatch.setattr(scheduler_lock, "LEASE_SECONDS", 0.6)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            run_scheduler(app)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert wait_for(lambda: scheduler_lock.holder(redis_client) is not None, 10)
    redis_client.set(scheduler_lock.LOCK_KEY, "4242@elsewhere/abc", px=60_000)  # the other one
    thread.join(30)
    assert not thread.is_alive()
    assert isinstance(outcome[0], SchedulerLockLost)
    assert scheduler_lock.holder(redis_client).pid == 4242  # the other's lock is left alone


def test_a_scheduler_stopped_with_sigterm_releases_its_lock_at_once(app, redis_client, tmp_path):
    import signal

    process = _scheduler(dict(os.environ), tmp_path / "scheduler.log")
    try:
        assert wait_for(lambda: scheduler_lock.holder(redis_client) is not None, 60), process.output()
        process.popen.send_signal(signal.SIGTERM)
        assert process.popen.wait(30) == 0, process.output()
        assert redis_client.exists(scheduler_lock.LOCK_KEY) == 0  # no lease to wait out
    finally:
        process.kill()
