"""Worker and scheduler processes."""
from __future__ import annotations

import logging
import signal
import threading
import time

from flask import Flask
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker

from scrm.config import settings
from scrm.services.inbox import NoticeRelay, relay_notices

log = logging.getLogger(__name__)


class AppWorker(SimpleWorker):
    """Runs each job in a fresh app context, so every job gets its own database session.
    SimpleWorker (no fork per job) keeps the welcome path fast and the connection pool valid."""

    flask_app: Flask
    performed: int = 0  # jobs run by this instance (RQ keeps its counters only in Redis)

    def perform_job(self, job, queue) -> bool:
        self.performed += 1
        with self.flask_app.app_context():
            return super().perform_job(job, queue)


def make_worker(app: Flask, queues: list[str], connection=None) -> AppWorker:
    from scrm.queueing import get_queue

    connection = connection or app.extensions["redis"]
    worker = AppWorker([get_queue(q, connection) for q in queues], connection=connection,
                       serializer=JSONSerializer, log_job_description=False)  # no job arguments in logs
    worker.flask_app = app
    return worker


HELPER_POLL_SECONDS = 2  # a helper thread idle this long checks whether it should stop


class ThreadedWorker(AppWorker):
    """One of a pooled worker's extra workers, running in a thread of the same process.

    Not ``Worker.work()``: that installs signal handlers, which only the main thread may do.
    ``run()`` is the same loop on RQ's public methods (bootstrap, dequeue_job_and_maintain_ttl,
    execute_job, heartbeat, teardown), with the timer death penalty (SIGALRM only reaches the
    main thread) and a stop event set by the main thread's worker."""

    death_penalty_class = TimerDeathPenalty

    def run(self, stop: threading.Event, logging_level: str = "INFO") -> None:
        self.bootstrap(logging_level)
        try:
            while not stop.is_set():
                self.check_for_suspension(False)
                result = self.dequeue_job_and_maintain_ttl(HELPER_POLL_SECONDS, HELPER_POLL_SECONDS)
                if result is not None:
                    self.execute_job(*result)
                    self.heartbeat()
        except Exception:  # noqa: BLE001 - as Worker.work(): log and leave the loop
            log.exception("worker thread %s stopped on an error", self.name)
        finally:
            self.teardown()


class PooledWorker(AppWorker):
    """The main thread's worker plus ``helpers`` (ThreadedWorker) on the same queues: the
    `welcome` queue's jobs spend their time waiting on WeCom (50–150 ms a call), so one process
    runs many at once instead of queueing a burst of adds behind each other (20 s window)."""

    death_penalty_class = TimerDeathPenalty
    helpers: list[ThreadedWorker]
    threads: list[threading.Thread]
    stop_helpers: threading.Event

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        # First reached inside work(), after RQ forked its scheduler process: only now start the
        # helper threads (a fork copies only the forking thread).
        if not self.threads:
            level = settings(self.flask_app).rq_log_level
            self.threads = [threading.Thread(target=helper.run, args=(self.stop_helpers, level),
                                             name=f"rq-helper-{i}", daemon=True)
                            for i, helper in enumerate(self.helpers, 1)]
            for thread in self.threads:
                thread.start()
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def request_stop(self, signum, frame) -> None:
        self.stop_helpers.set()
        super().request_stop(signum, frame)


def make_pooled_worker(app: Flask, queues: list[str], threads: int) -> PooledWorker:
    import redis

    from scrm.queueing import get_queue

    def build(cls: type[AppWorker]) -> AppWorker:
        connection = redis.Redis.from_url(settings(app).redis_url)
        worker = cls([get_queue(q, connection) for q in queues], connection=connection,
                     serializer=JSONSerializer)
        worker.flask_app = app
        return worker

    main = build(PooledWorker)
    main.helpers = [build(ThreadedWorker) for _ in range(threads - 1)]
    main.threads = []
    main.stop_helpers = threading.Event()
    return main


def run_worker(app: Flask, queues: list[str], burst: bool = False, threads: int | None = None) -> None:
    import redis

    # A welcome-only worker runs jobs concurrently by default (SCRM_WELCOME_THREADS), with its
    # own batched loop instead of RQ's per-job one (scrm/welcome_worker.py).
    if threads is None:
        threads = settings(app).welcome_worker_threads if list(queues) == ["welcome"] else 1
    if list(queues) == ["welcome"] and not burst:
        from scrm.welcome_worker import run_welcome_worker

        run_welcome_worker(app, threads)
        return
    log.info("worker starting on queues %s (%d thread(s))", ",".join(queues), threads)
    level = settings(app).rq_log_level  # RQ's own lines; ours keep LOG_LEVEL
    # A worker serving `callbacks` runs the inbox's notice relay while it works (a burst run
    # relays what is waiting once, before it starts).
    relay = NoticeRelay(app) if "callbacks" in queues and not burst else None
    if threads > 1 and not burst:
        worker = make_pooled_worker(app, queues, threads)
        try:
            if relay:
                relay.start()
            worker.work(with_scheduler=True, logging_level=level)
        finally:
            if relay:
                relay.stop()
            _stop_helpers(worker)
        return
    # Workers block on Redis; they need no short socket timeout.
    connection = redis.Redis.from_url(settings(app).redis_url)
    worker = make_worker(app, queues, connection)
    if "callbacks" in queues and burst:
        relay_notices(connection)
    try:
        if relay:
            relay.start()
        worker.work(burst=burst, with_scheduler=True, logging_level=level)
    finally:
        if relay:
            relay.stop()


def _stop_helpers(worker: PooledWorker, grace: float = 20.0) -> None:
    """Let the helpers finish the job in hand (a welcome job is bounded by the 20 s window) and
    unregister themselves; one still running after ``grace`` is unregistered here."""
    deadline = time.monotonic() + grace
    worker.stop_helpers.set()
    for thread in worker.threads:
        if thread.ident is not None:  # a SIGTERM may come while they are being started
            thread.join(max(0.0, deadline - time.monotonic()))
    for helper, thread in zip(worker.helpers, worker.threads, strict=False):
        if not thread.is_alive():
            continue
        try:
            helper.register_death()
        except Exception:  # noqa: BLE001 - Redis gone: their keys expire on their own
            log.warning("could not unregister worker %s", helper.name)


def build_scheduler(app: Flask):
    """The scheduler only enqueues; every sweep has a stable id, so a restart replaces its
    schedule instead of adding a second one (and a sweep still queued is not queued twice)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from scrm.queueing import SWEEP_JOB, SWEEPS, enqueue

    def enqueue_sweep(name: str) -> None:
        with app.app_context():
            try:
                enqueue(SWEEP_JOB, name, queue="periodic",
                        job_id=f"periodic-{name}", unique=True)
            except Exception:  # noqa: BLE001 - Redis down: try again next interval
                log.exception("could not enqueue sweep %s", name)

    scheduler = BlockingScheduler(timezone="UTC")
    for sweep in SWEEPS:
        scheduler.add_job(enqueue_sweep, "interval", seconds=sweep.every_seconds, args=[sweep.name],
                          id=sweep.name, replace_existing=True, coalesce=True, max_instances=1)
    return scheduler


def _stop(scheduler) -> None:
    from apscheduler.schedulers import SchedulerNotRunningError

    try:
        scheduler.shutdown(wait=False)
    except SchedulerNotRunningError:  # a second signal, or not started yet
        pass


class SchedulerLockLost(Exception):
    """The scheduler lock lapsed under us (Redis unreachable longer than a lease)."""


def run_scheduler(app: Flask) -> None:
    """Run the scheduler while holding the scheduler lock (scrm/scheduler_lock.py). Raises
    SchedulerAlreadyRunning when another scheduler holds it, SchedulerLockLost when the lock is
    lost while running (the scheduler stops first: another may have started meanwhile)."""
    import redis

    from scrm import scheduler_lock

    lost, halted = threading.Event(), threading.Event()
    built = []

    def on_lost() -> None:
        lost.set()
        for scheduler in built:
            _stop(scheduler)

    # SIGTERM (a process manager, `make run` stopping) and Ctrl-C end the loop, so the lock is
    # released at once and a restarted scheduler need not wait out the lease. Installed before
    # the lock is taken: a signal while the scheduler is being built must release it too.
    def on_signal(*_args) -> None:
        halted.set()
        for scheduler in built:
            _stop(scheduler)

    restore = {}
    if threading.current_thread() is threading.main_thread():
        restore = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        # The lock first: a second scheduler refuses before it builds (and logs) anything.
        lock = scheduler_lock.acquire(redis.Redis.from_url(settings(app).redis_url, socket_timeout=5),
                                      on_lost=on_lost)
        try:
            scheduler = build_scheduler(app)
            built.append(scheduler)
            log.info("scheduler starting with %d sweeps", len(scheduler.get_jobs()))
            if not (lost.is_set() or halted.is_set()):
                scheduler.start()
        finally:
            try:
                lock.release()
            except redis.RedisError:  # the key lapses on its own within a lease
                pass
    finally:
        for sig, handler in restore.items():
            signal.signal(sig, handler)
    if lost.is_set():
        raise SchedulerLockLost("scheduler lock lost (Redis unreachable for longer than its lease); stopped")
