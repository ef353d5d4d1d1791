"""Worker and scheduler processes."""
from __future__ import annotations

import logging
import threading
import time

from flask import Flask
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker

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
                       serializer=JSONSerializer)
    worker.flask_app = app
    return worker


class ThreadedWorker(AppWorker):
    """One of a pooled worker's extra workers, running in a thread of the same process: the
    timer death penalty (SIGALRM only reaches the main thread) and no signal handlers (the main
    thread's worker owns them and stops its helpers)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


class PooledWorker(AppWorker):
    """The main thread's worker plus ``helpers`` (ThreadedWorker) on the same queues: the
    `welcome` queue's jobs spend their time waiting on WeCom (50–150 ms a call), so one process
    runs many at once instead of queueing a burst of adds behind each other (20 s window)."""

    death_penalty_class = TimerDeathPenalty
    helpers: list[ThreadedWorker]
    threads: list[threading.Thread]

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        # Reached after the RQ scheduler process was forked: start the helper threads only now.
        level = self.flask_app.config.get("LOG_LEVEL", "INFO")
        self.threads = [threading.Thread(target=helper.work, kwargs={"logging_level": level},
                                         name=f"rq-helper-{i}", daemon=True)
                        for i, helper in enumerate(self.helpers, 1)]
        for thread in self.threads:
            thread.start()

    def request_stop(self, signum, frame) -> None:
        for helper in self.helpers:
            helper._stop_requested = True
        super().request_stop(signum, frame)


def make_pooled_worker(app: Flask, queues: list[str], threads: int) -> PooledWorker:
    import redis

    from scrm.queueing import get_queue

    def build(cls: type[AppWorker]) -> AppWorker:
        connection = redis.Redis.from_url(app.config["REDIS_URL"])
        worker = cls([get_queue(q, connection) for q in queues], connection=connection,
                     serializer=JSONSerializer)
        worker.flask_app = app
        return worker

    main = build(PooledWorker)
    main.helpers = [build(ThreadedWorker) for _ in range(threads - 1)]
    main.threads = []
    return main


def run_worker(app: Flask, queues: list[str], burst: bool = False, threads: int | None = None) -> None:
    import redis

    # A welcome-only worker runs jobs concurrently by default (SCRM_WELCOME_THREADS).
    if threads is None:
        threads = app.config.get("WELCOME_WORKER_THREADS", 1) if list(queues) == ["welcome"] else 1
    log.info("worker starting on queues %s (%d thread(s))", ",".join(queues), threads)
    level = app.config.get("LOG_LEVEL", "INFO")
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
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
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
    """Let the helpers finish the job in hand (a welcome job is bounded by the 20 s window), then
    unregister them; threads idle in a blocking dequeue die with the process."""
    from rq.worker import WorkerStatus

    deadline = time.monotonic() + grace
    for helper in worker.helpers:
        helper._stop_requested = True
    while time.monotonic() < deadline and any(
            helper.get_state() == WorkerStatus.BUSY for helper in worker.helpers):
        time.sleep(0.1)
    for helper in worker.helpers:
        try:
            helper.register_death()
        except Exception:  # noqa: BLE001 - Redis gone: their keys expire on their own
            log.warning("could not unregister worker %s", helper.name)


def build_scheduler(app: Flask):
    """The scheduler only enqueues; every sweep has a stable id, so a restart replaces its
    schedule instead of adding a second one (and a sweep still queued is not queued twice)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from jobs.periodic import SWEEPS
    from scrm.queueing import enqueue

    def enqueue_sweep(name: str) -> None:
        with app.app_context():
            try:
                enqueue("jobs.periodic.run_sweep", name, queue="periodic",
                        job_id=f"periodic-{name}", unique=True)
            except Exception:  # noqa: BLE001 - Redis down: try again next interval
                log.exception("could not enqueue sweep %s", name)

    scheduler = BlockingScheduler(timezone="UTC")
    for sweep in SWEEPS:
        scheduler.add_job(enqueue_sweep, "interval", seconds=sweep.every_seconds, args=[sweep.name],
                          id=sweep.name, replace_existing=True, coalesce=True, max_instances=1)
    return scheduler


def run_scheduler(app: Flask) -> None:
    scheduler = build_scheduler(app)
    log.info("scheduler starting with %d sweeps", len(scheduler.get_jobs()))
    scheduler.start()
