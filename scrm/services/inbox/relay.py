"""The notice relay: the callback view's "process row N" notices become `callbacks`-queue jobs.

The view pushes a bare row id onto a Redis list (one LPUSH; an RQ enqueue cost the request a
third of its CPU). ``NoticeRelay`` is the component that turns those ids into RQ jobs, in
batches, in one pipeline each. A worker serving the `callbacks` queue starts one
(scrm/worker.py: ``run_worker``) and stops it when it stops. If no relay runs, nothing is lost:
every inbox sweep relays what is waiting, and the sweep finds any pending row whose notice
Redis lost.
"""
from __future__ import annotations

import logging
import threading

import redis
from flask import Flask, current_app

from scrm.config import settings
from scrm.queueing import enqueue_many

log = logging.getLogger(__name__)

NOTICES = "scrm:inbox:notices"  # Redis list of new row ids
RELAY_BATCH = 1000
PROCESS_JOB = "jobs.callbacks.process_callback"


def notice(event_id: int) -> bool:
    """The callback view's "process row N": one LPUSH. False if Redis is unreachable (the sweep
    finds the pending row)."""
    try:
        current_app.extensions["redis"].lpush(NOTICES, event_id)
        return True
    except redis.RedisError as exc:
        log.warning("could not queue a notice for callback %s: %s", event_id, exc)
        return False


def relay_notices(connection: redis.Redis | None = None, *, block: float = 0) -> int:
    """Turn waiting notices into `callbacks`-queue jobs, up to RELAY_BATCH at a time, in one
    pipeline. ``block``: wait up to that many seconds for the first one. Returns how many jobs
    were enqueued."""
    connection = connection or current_app.extensions["redis"]
    ids: list[bytes] = []
    if block:
        first = connection.brpop([NOTICES], timeout=block)
        if first is None:
            return 0
        ids.append(first[1])
    ids += connection.rpop(NOTICES, RELAY_BATCH - len(ids)) or []
    if not ids:
        return 0
    enqueue_many(PROCESS_JOB, [(f"callback-{int(i)}", (int(i),)) for i in ids], queue="callbacks",
                 connection=connection)
    return len(ids)


class NoticeRelay:
    """A thread that relays notices until stopped: blocks on the list (a connection of its
    own), survives Redis outages (retries every second).

        relay = NoticeRelay(app).start()
        ...
        relay.stop()
    """

    def __init__(self, app: Flask, *, block: float = 1.0, stop: threading.Event | None = None) -> None:
        self.app = app
        self.block = block
        self._stop = stop or threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> NoticeRelay:
        if not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="notice-relay", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop and wait for it (at most ``block`` seconds plus a batch)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.block + 5)

    def run(self) -> None:
        """The loop itself (``start`` runs it in a thread)."""
        connection = redis.Redis.from_url(settings(self.app).redis_url)
        try:
            while not self._stop.is_set():
                try:
                    with self.app.app_context():
                        relay_notices(connection, block=self.block)
                except redis.RedisError as exc:
                    log.warning("notice relay: %s; retrying in 1 s", exc)
                    self._stop.wait(1)
        finally:
            connection.close()


def relay_forever(app: Flask, stop: threading.Event) -> None:
    """Run a relay in the calling thread until ``stop`` is set."""
    NoticeRelay(app, stop=stop).run()
