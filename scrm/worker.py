"""Worker and scheduler processes."""
from __future__ import annotations

import logging

from flask import Flask
from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker

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


def run_worker(app: Flask, queues: list[str], burst: bool = False) -> None:
    import redis

    # Workers block on Redis; they need no short socket timeout.
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    log.info("worker starting on queues %s", ",".join(queues))
    make_worker(app, queues, connection).work(burst=burst, with_scheduler=True,
                                             logging_level=app.config.get("LOG_LEVEL", "INFO"))


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
