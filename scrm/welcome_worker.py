"""The welcome process: one dispatcher and a pool of sender threads on the `welcome` queue.

RQ's worker loop spends several Redis round trips and a few ms of CPU on every job (dequeue
into its intermediate list, started registry, status, heartbeat, finished registry); a burst of
200 adds a second made that bookkeeping, not WeCom, the welcome path's bottleneck. This loop
keeps RQ's queue format (the view and the callbacks handler still enqueue RQ jobs; `--burst`
and the tests still run them with RQ) but handles the queue in batches:

* one blocking pop, then one pop of up to as many job ids as there are idle threads;
* one pipeline to read those jobs (`Job.fetch_many`); a job whose 20 s queue TTL lapsed is gone;
* the send_welcome jobs of one pop are claimed and drafted together in the dispatcher thread
  (scrm/services/welcome_batch.py); pool threads only call WeCom and a settler thread writes the
  outcomes, so the process uses two database connections however many senders it runs;
* a new add's job carries the customer (job.meta: corp, external_userid, state), so its nickname
  lookup starts on a pool thread as soon as it is popped, while the batch is being claimed;
* any other job (or a batch that could not be prepared) runs in a pool thread, in an app context
  of its own, at most ONE_BY_ONE_AT_ONCE at a time (each holds a database connection);
* finished jobs are deleted in one pipeline per batch (results are never read: result_ttl 0); a
  job that raised goes to the queue's failed registry, as with RQ;
* due retries (`enqueue_in`: the scheduled registry) are moved by the same loop, several a
  round trip (ZREM decides which process owns one when more than one welcome process runs).

The process registers as an RQ worker on `welcome` (heartbeat, death), so `flask scrm status`
and deploy/prodcheck.py see the queue served. Sending exactly once is the service's business
(scrm/services/welcome.py claims the row before WeCom is called), not this loop's.
"""
from __future__ import annotations

import logging
import queue
import signal
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor

import redis
from flask import Flask
from rq import Worker
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy.orm import configure_mappers

from scrm.config import DB_POOL_SIZE, settings
from scrm.queueing import get_queue
from scrm.services import welcome, welcome_batch
from scrm.services.corps import corps_to_sync

log = logging.getLogger(__name__)

QUEUE = "welcome"
SEND_WELCOME = "jobs.welcome.send_welcome"  # the jobs run through the batched path
POLL_SECONDS = 0.25  # blocking pop timeout: also how often due retries are looked for
HEARTBEAT_SECONDS = 15  # RQ's worker key lives 35 s past each heartbeat
REDIS_RETRY_SECONDS = 1.0
WARM_UP_SECONDS = 5.0
STOP_GRACE = 20.0  # s: a welcome job is bounded by WeCom's 20 s window
ONE_BY_ONE_AT_ONCE = DB_POOL_SIZE - 2  # jobs run one by one at once: the pool less the dispatcher's and settler's
WARM_CONNECTIONS = 2  # the dispatcher's and the settler's
LOOKUP_GRACE = 2.0  # s a sender waits for an early lookup beyond the lookup's own timeout
NO_NICKNAME_KEYS = 10_000  # channels remembered as needing no lookup


class WelcomeDispatcher:
    def __init__(self, app: Flask, threads: int, connection: redis.Redis | None = None) -> None:
        self.app = app
        self.threads = threads
        self.connection = connection or redis.Redis.from_url(settings(app).redis_url)
        self.queue = get_queue(QUEUE, self.connection)
        self.registration = Worker([self.queue], connection=self.connection, serializer=JSONSerializer,
                                   worker_ttl=HEARTBEAT_SECONDS + 20)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="welcome")
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._idle = threads  # pool threads not running a job
        self._wake = threading.Condition(self._lock)
        self._finished: list[str] = []  # job ids to delete with the next batch
        self._outcomes: queue.Queue = queue.Queue()  # (outcome, rendered, jobs) for the settler
        self._settler = threading.Thread(target=self._settle_loop, name="welcome-settler", daemon=True)
        self._one_by_one = threading.BoundedSemaphore(ONE_BY_ONE_AT_ONCE)
        self._no_nickname: set[tuple[str, str]] = set()  # (corp, state) whose template has no {nickname}
        self.performed = 0

    # ---- the loop -------------------------------------------------------------------------------

    def run(self) -> None:
        self._warm_up()
        self._settler.start()
        self.registration.register_birth()
        beat = time.monotonic()
        try:
            while not self.stopping.is_set():
                try:
                    if time.monotonic() - beat >= HEARTBEAT_SECONDS:
                        self.registration.heartbeat()
                        beat = time.monotonic()
                    ids = self._take()
                    if ids:
                        self._start(ids)
                except (redis.ConnectionError, redis.TimeoutError) as exc:  # as RQ: wait, then go on
                    log.warning("welcome worker lost Redis (%s); retrying in %s s", type(exc).__name__,
                                REDIS_RETRY_SECONDS)
                    self.stopping.wait(REDIS_RETRY_SECONDS)
        finally:
            self.pool.shutdown(wait=False, cancel_futures=False)
            self._drain(STOP_GRACE)
            self._outcomes.put(None)  # the settler writes what is left, then stops
            self._settler.join(STOP_GRACE)
            self._delete_finished()
            try:
                self.registration.register_death()
            except redis.RedisError:  # its key expires on its own
                log.warning("could not unregister the welcome worker")

    def _warm_up(self) -> None:
        """What the first burst would otherwise pay for in its first welcomes: the mappers, the
        compiled statements, the dispatcher's and settler's database connections (opened at once)
        and every sender thread with its WeCom clients (starting 64 threads in a burst stalled the
        dispatcher ~400 ms). Nothing here is needed: what fails is paid for by the first welcomes."""
        configure_mappers()
        barrier = threading.Barrier(self.threads)
        try:
            with self.app.app_context():
                corps = corps_to_sync()[:welcome.CLIENT_CACHE_SIZE]
        except Exception:  # noqa: BLE001 - the database not up yet: each thread makes its clients later
            log.warning("welcome worker could not list the corps to warm up", exc_info=True)
            corps = []

        def warm(n: int) -> None:
            try:
                barrier.wait(WARM_UP_SECONDS)  # each task on a thread of its own
            except threading.BrokenBarrierError:
                pass
            with self.app.app_context():
                if n < WARM_CONNECTIONS:
                    welcome.warm_up()
                    welcome_batch.warm_up()
                for corp_id in corps:  # the thread's WeCom clients (a requests session each)
                    welcome._client(corp_id)

        try:
            list(self.pool.map(warm, range(self.threads)))
        except Exception:  # noqa: BLE001 - the database not up yet: the first jobs pay instead
            log.warning("welcome worker warm-up failed", exc_info=True)

    def stop(self, *_args) -> None:
        self.stopping.set()

    def _take(self) -> list[str]:
        """Job ids to run now (due retries first), no more than the idle threads; [] after
        POLL_SECONDS with nothing to do."""
        with self._lock:
            while self._idle <= 0 and not self.stopping.is_set():
                self._wake.wait(POLL_SECONDS)
            room = self._idle
        if self.stopping.is_set():
            return []
        ids = self._due_retries(room)
        if len(ids) < room:
            pipe = self.connection.pipeline(transaction=False)
            pipe.lpop(self.queue.key, room - len(ids))
            self._add_deletes(pipe)
            popped = pipe.execute()[0]
            ids += [i.decode() for i in popped or ()]
        if not ids:
            popped = self.connection.blpop([self.queue.key], POLL_SECONDS)
            if popped:
                ids.append(popped[1].decode())
        return ids

    def _due_retries(self, room: int) -> list[str]:
        registry = self.queue.scheduled_job_registry
        due = registry.get_jobs_to_schedule(int(time.time()), chunk_size=room)
        if not due:
            return []
        pipe = self.connection.pipeline(transaction=False)
        for job_id in due:
            pipe.zrem(registry.key, job_id)
        return [job_id for job_id, removed in zip(due, pipe.execute(), strict=True) if removed]

    def _start(self, ids: list[str]) -> None:
        batch: dict[int, list[Job]] = {}
        for job in Job.fetch_many(ids, self.connection, serializer=JSONSerializer):
            if job is None:  # expired while waiting (the queue's TTL) or deleted
                continue
            if job.func_name == SEND_WELCOME and len(job.args) == 1 and not job.kwargs:
                batch.setdefault(int(job.args[0]), []).append(job)
                continue
            with self._lock:
                self._idle -= 1
            self.pool.submit(self._perform, job)
        if batch:
            self._start_batch(batch)

    def _start_batch(self, batch: dict[int, list[Job]]) -> None:
        """Claim and draft the batch's welcomes in one transaction, then send each on a thread;
        the nickname lookups start first, on threads of their own, while the batch is claimed."""
        hints = {event_id: welcome.early_lookup(jobs[0].meta or {}) for event_id, jobs in batch.items()}
        early = self._look_up_early(hints)
        try:
            with self.app.app_context():
                prepared = welcome_batch.prepare(batch)
        except Exception:  # noqa: BLE001 - the database failed: each job on its own, as RQ would
            log.exception("welcome batch of %d failed to prepare; running its jobs one by one", len(batch))
            for jobs in batch.values():
                for job in jobs:
                    with self._lock:
                        self._idle -= 1
                    self.pool.submit(self._perform, job)
            return
        for item in prepared:
            jobs = batch.pop(item.claim.event_id)
            self._learn(hints[item.claim.event_id], item.draft.needs_nickname)
            with self._lock:
                self._idle -= 1
            self.pool.submit(self._send, item, jobs, early.get(item.claim.event_id))
        self._done([job for jobs in batch.values() for job in jobs])  # skipped, or settled as too late

    # ---- the nickname looked up while the batch is claimed ------------------------------------------

    def _look_up_early(self, hints: dict[int, tuple[str, str, str] | None]) -> dict[int, Future]:
        """Start the lookups of the batch's new adds (their jobs carry the customer: enqueue_welcome),
        except for channels whose template last needed no nickname. A lookup the draft turns out
        not to need (the customer's name is stored, the claim is someone else's) is one call spent."""
        early = {}
        for event_id, hint in hints.items():
            if hint is None or (hint[0], hint[2]) in self._no_nickname:
                continue
            with self._lock:
                self._idle -= 1
            early[event_id] = self.pool.submit(self._lookup, hint[0], hint[1])
        return early

    def _learn(self, hint: tuple[str, str, str] | None, needs_nickname: bool) -> None:
        """Remember whether the channel of this add (corp, state) needed a nickname."""
        if hint is not None:
            key = (hint[0], hint[2])
            if needs_nickname:
                self._no_nickname.discard(key)
            elif len(self._no_nickname) < NO_NICKNAME_KEYS:
                self._no_nickname.add(key)

    def _lookup(self, corp_id: str, external_userid: str) -> str | None:
        try:
            with self.app.app_context():
                return welcome.lookup_nickname(welcome._client(corp_id), external_userid)
        finally:
            with self._lock:
                self._idle += 1
                self._wake.notify()

    @staticmethod
    def _answer(lookup: Future | None):
        """What welcome_batch.send calls for the early lookup's nickname (None: none started)."""
        if lookup is None:
            return None

        def answer() -> str | None:
            try:
                return lookup.result(welcome.NICKNAME_LOOKUP_TIMEOUT + LOOKUP_GRACE)
            except Exception:  # noqa: BLE001 - not a WeCom answer (those give None): the fallback name
                log.exception("early nickname lookup failed")
                return None
        return answer

    # ---- sending and settling ----------------------------------------------------------------------

    def _send(self, prepared: welcome_batch.Prepared, jobs: list[Job], lookup: Future | None = None) -> None:
        try:
            with self.app.app_context():
                outcome, rendered = welcome_batch.send(prepared, welcome._client(prepared.claim.corp_id),
                                                       self._answer(lookup))
            self._outcomes.put((outcome, rendered, jobs))
        except Exception:  # noqa: BLE001 - not a WeCom answer: the row stays claimed (SENDING)
            log.exception("welcome for event %s failed", prepared.claim.event_id)
            self._fail_all(jobs)
        finally:
            with self._lock:
                self._idle += 1
                self._wake.notify()

    def _settle_loop(self) -> None:
        """Write the outcomes the senders hand over, as many per transaction as are waiting;
        None (from run()) stops it once what came before is written."""
        stop = False
        while not stop:
            items = []
            item = self._outcomes.get()
            while True:
                if item is None:
                    stop = True
                else:
                    items.append(item)
                try:
                    item = self._outcomes.get_nowait()
                except queue.Empty:
                    break
            if items:
                self._settle(items)

    def _settle(self, items: list[tuple]) -> None:
        with self.app.app_context():
            try:
                welcome_batch.settle([(outcome, rendered) for outcome, rendered, _ in items])
                self._done([job for _, _, jobs in items for job in jobs])
                return
            except Exception:  # noqa: BLE001 - one bad outcome must not lose the others
                log.exception("settling %d welcome(s) together failed; settling them one by one", len(items))
            for outcome, rendered, jobs in items:
                try:
                    welcome_batch.settle([(outcome, rendered)])
                    self._done(jobs)
                except Exception:  # noqa: BLE001 - the row stays claimed (SENDING); the job is kept
                    log.exception("settling the welcome for event %s failed", outcome.claim.event_id)
                    self._fail_all(jobs)

    def _fail_all(self, jobs: list[Job]) -> None:
        """Called in an except block: the jobs go to the failed registry (deleted if Redis fails)."""
        kept = [job for job in jobs if self._failed(job)]
        self._done([job for job in jobs if job not in kept], failed=len(kept))

    def _done(self, jobs: list[Job], failed: int = 0) -> None:
        """`jobs` ran and are deleted with the next pop; `failed`: further jobs that ran and failed
        (kept in the failed registry)."""
        with self._lock:
            self.performed += len(jobs) + failed
            self._finished.extend(job.id for job in jobs)

    def _perform(self, job: Job) -> None:
        try:
            with self._one_by_one, self.app.app_context():
                job.func(*job.args, **job.kwargs)
        except Exception:  # noqa: BLE001 - as RQ: the job goes to the failed registry
            log.exception("welcome job %s failed", job.id)
            if self._failed(job):
                job = None  # kept for `flask scrm failed`
        finally:
            with self._lock:
                self.performed += 1
                self._idle += 1
                if job is not None:
                    self._finished.append(job.id)
                self._wake.notify()

    def _failed(self, job: Job) -> bool:
        """Put the job in the queue's failed registry, as RQ does; False if Redis failed."""
        try:
            with self.connection.pipeline(transaction=False) as pipe:
                job.set_status(JobStatus.FAILED, pipeline=pipe)
                self.queue.failed_job_registry.add(job, ttl=job.failure_ttl, exc_string=traceback.format_exc(),
                                                   pipeline=pipe)
                pipe.execute()
            return True
        except redis.RedisError:
            return False

    # ---- bookkeeping ----------------------------------------------------------------------------

    def _add_deletes(self, pipe) -> None:
        with self._lock:
            finished, self._finished = self._finished, []
        for job_id in finished:
            pipe.delete(Job.key_for(job_id))

    def _delete_finished(self) -> None:
        try:
            pipe = self.connection.pipeline(transaction=False)
            self._add_deletes(pipe)
            pipe.execute()
        except redis.RedisError:  # the jobs' own TTL removes them
            pass

    def _drain(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        with self._lock:
            while self._idle < self.threads and time.monotonic() < deadline:
                self._wake.wait(max(0.0, min(0.5, deadline - time.monotonic())))


def run_welcome_worker(app: Flask, threads: int) -> None:
    """`flask scrm worker welcome`: SIGTERM or Ctrl-C stops taking jobs and lets the running
    ones finish (up to STOP_GRACE)."""
    dispatcher = WelcomeDispatcher(app, threads)
    previous = {sig: signal.signal(sig, dispatcher.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    log.info("welcome worker starting (%d threads)", threads)
    try:
        dispatcher.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
