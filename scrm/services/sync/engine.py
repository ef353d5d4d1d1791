"""What every sync stage works with: the Syncer (a run's WeCom clients, backoff, heartbeat and
checkpoints) and small helpers. runner.py claims a run and runs its stages in order; the stage
modules (staff, tags, customers, groups) import this module, never the other way round.

Only the run's thread touches the database; WeCom calls of the paged stages run on a thread pool
(pipeline.py) and every WeCom call goes through the shared per-corp rate limiter
(scrm/wecom/ratelimit.py) and the backoff (scrm/wecom/retry.py).

Every write the sync makes to a row that exists reuses the callback handlers' upserts
(scrm/services/events), with an EventContext whose source is "sync" and whose time is when the
WeCom page was fetched; the handlers then write the timeline entries (source "sync") exactly as
for callbacks. Customers and relations that do not exist yet are inserted set-based with the rows
those handlers would write (customers stage: new_rows.py).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from scrm.clock import utcnow
from scrm.config import settings
from scrm.db import ensure_rows, insert_pending
from scrm.extensions import db
from scrm.models import Staff
from scrm.services.corps import wecom_client_factory
from scrm.services.events.registry import EventContext
from scrm.services.sync.pipeline import Pipeline
from scrm.services.sync.runs import RunState
from scrm.wecom.retry import call_with_backoff

log = logging.getLogger(__name__)

BEAT_SECONDS = 30.0  # heartbeat at least this often while waiting (runs.STALE_AFTER is 10 min)
# Pages applied within this long share one transaction: each commit is a flush to disk (fsync on
# both databases), which one per page made a large share of an import's time. A crash loses at
# most this much applied work; the checkpoint committed with it says where to resume.
COMMIT_SECONDS = 1.0
ANALYZE_AT = (1, 10, 100, 1000, 10000)  # pages of a stage after which PostgreSQL gets new statistics
RATE_WAIT = 60.0  # a sync call may wait this long for room in the rate budget (then backs off)
STAFF_BATCH = 100  # userids per batch/get_by_user and per groupchat/list owner_filter (WeCom's max)
Progress = Callable[[RunState], None]
real_sleep = time.sleep  # the backoff's sleep in this thread when none is injected (tests replace it)


@dataclass
class StagePass:
    """A paged stage's pass over WeCom's lists: its chains (pipeline.py), how to apply a page of
    one and what to do when one fails, and how many threads its chains get."""
    stage: str
    chains: dict[str, Iterator[Any]]
    apply: Callable[[str, Any], None]
    failed: Callable[[str, BaseException], None]
    threads: int
    close: Callable[[], None] = lambda: None  # after the pass, whatever happened (e.g. a thread pool)


class Syncer:
    def __init__(self, state: RunState, *, sleep: Callable[[float], Any] | None = None,
                 concurrency: int | None = None, on_progress: Progress | None = None,
                 commit_seconds: float | None = None) -> None:
        self.state = state
        self.corp_id = state.corp_id
        self.concurrency = concurrency or settings().sync_concurrency
        self.sleep = sleep  # None: real time (pipeline threads wake early when stopped)
        self.on_progress = on_progress
        self._make_client = wecom_client_factory(state.corp_id, max_rate_wait=RATE_WAIT)
        self._clients = threading.local()
        self._last_beat = time.monotonic()
        # WeCom calls in flight from the pipelines' threads, whichever stages run at once
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self.pending: dict = {}  # the page's new rows, inserted at its commit (EventContext.pending)
        self._pages: dict[tuple[str, ...], int] = {}  # pages applied per stage (by its tables)
        self.commit_seconds = COMMIT_SECONDS if commit_seconds is None else commit_seconds
        self._uncommitted = 0  # pages applied since the last commit
        self._analyze: set[str] = set()  # tables to ANALYZE after the next commit
        self._committed = self._snapshot()  # the run's state as last committed (rewind)

    @property
    def full(self) -> bool:
        return self.state.full

    # ---- WeCom ---------------------------------------------------------------------------------

    def client(self):
        """This thread's WeComClient (requests sessions are not shared between threads)."""
        client = getattr(self._clients, "client", None)
        if client is None:
            client = self._clients.client = self._make_client()
        return client

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A WeCom call from this (the database) thread: backs off, heartbeats while it waits."""
        sleep = real_sleep if self.sleep is None else self.sleep
        return call_with_backoff(fn, *args, sleep=sleep, on_wait=self.beat, **kwargs)

    def fetch(self, pipeline: Pipeline, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A WeCom call from a pipeline thread (its waits end early when the pipeline stops). Each
        attempt takes one of the run's `concurrency` slots while it runs (not while it backs off),
        so stages running at once share the limit."""
        def attempt(*args: Any, **kwargs: Any) -> Any:
            with self._slots:
                return fn(*args, **kwargs)

        return call_with_backoff(attempt, *args, sleep=pipeline.wait if self.sleep is None else self.sleep, **kwargs)

    def pipeline(self, threads: int | None = None) -> Pipeline:
        return Pipeline(threads or self.concurrency)

    # ---- state -----------------------------------------------------------------------------------

    def context(self, stage: str, fetched_at: datetime) -> EventContext:
        """What the callback handlers' upserts take: source "sync", time = when WeCom answered."""
        return EventContext(event_id=None, corp_id=self.corp_id, event="sync", change_type=stage,  # type: ignore[arg-type]
                            data={}, occurred_at=fetched_at, source="sync", pending=self.pending)

    def checkpoint(self, stage: str) -> dict[str, Any]:
        """The stage's own part of the run's checkpoint (two stages may run at once)."""
        return self.state.checkpoint.setdefault(stage, {})

    def progress(self, stage: str) -> dict[str, Any]:
        return self.state.progress.setdefault(stage, {"status": "pending", "done": 0, "total": None, "errors": 0})

    def stage_started_at(self, stage: str) -> datetime:
        return datetime.fromisoformat(self.progress(stage)["started_at"])

    def clean(self, stage: str) -> bool:
        """No error so far in the stage (across resumes): WeCom's lists were read completely."""
        return not self.progress(stage).get("errors")

    def error(self, stage: str, api: str | None, errcode: int | None, errmsg: str, item: str | None = None) -> None:
        log.warning("sync %s %s: %s errcode=%s %s %s", self.state.id, stage, api, errcode, errmsg, item or "")
        self.state.add_error(stage, api, errcode, errmsg, item)

    def commit(self, *, plan: bool = False) -> None:
        """Checkpoint: the page's rows, progress and cursor in one transaction (with a heartbeat)."""
        insert_pending(self.pending)
        self.state.save(plan=plan)
        db.session.commit()
        self._committed = self._snapshot()
        self._last_beat = time.monotonic()
        self._uncommitted = 0
        if self._analyze:
            db.session.execute(text("ANALYZE " + ", ".join(sorted(self._analyze))))
            db.session.commit()
            self._analyze = set()
        if self.on_progress is not None:
            self.on_progress(self.state)

    def page_done(self, tables: tuple[str, ...]) -> None:
        """A page is applied and its cursor is in the checkpoint: its buffered rows go in now, and
        the transaction commits (with the checkpoint) once COMMIT_SECONDS have passed since the
        last commit. At the 1st, 10th, 100th, ... page, PostgreSQL's statistics of the tables the
        stage fills are refreshed after the commit. A first import grows them from empty, and with
        stale or no statistics (autovacuum off, or behind) the cached generic plans pick the
        corp_id index and read every row of the corp per lookup: the import turns quadratic."""
        insert_pending(self.pending)
        self._pages[tables] = pages = self._pages.get(tables, 0) + 1
        self._uncommitted += 1
        if pages in ANALYZE_AT and db.session.get_bind().dialect.name == "postgresql":
            self._analyze.update(tables)
        if time.monotonic() - self._last_beat >= self.commit_seconds:
            self.commit()

    def _snapshot(self) -> tuple:
        state = self.state
        return (state.stage, deepcopy(state.progress), deepcopy(state.checkpoint), list(state.errors),
                state.error_count)

    def rewind(self) -> None:
        """Back to the last commit after a rollback: the pages applied since then are not in the
        database, so neither may their cursors be (a failed run's checkpoint is saved)."""
        state = self.state
        state.stage, state.progress, state.checkpoint, state.errors, state.error_count = self._committed
        self._committed = self._snapshot()  # the state keeps its own copies
        self._uncommitted = 0

    def flush_pages(self) -> None:
        """Commit the pages applied since the last commit (a chain ended, the pipeline is idle)."""
        if self._uncommitted:
            self.commit()

    def waiting(self) -> None:
        """No page is ready. SQLite: the pages applied so far are committed before waiting for the
        next: its one writer's lock, held while WeCom answers, would make every callback arriving
        meanwhile give up and spool (the inbox insert waits INBOX_INSERT_TIMEOUT). PostgreSQL keeps
        batching by COMMIT_SECONDS (only the rows a page touched are locked)."""
        if self._uncommitted and db.session.get_bind().dialect.name == "sqlite":
            self.commit()

    def beat(self) -> None:
        """Heartbeat while waiting, and the waiting pages committed. Only called between pages
        (nothing half-written)."""
        since = time.monotonic() - self._last_beat
        if since >= BEAT_SECONDS or (self._uncommitted and since >= self.commit_seconds):
            self.commit()

    def begin_stage(self, stage: str) -> bool:
        """Enter `stage`. True when it starts now, False when a resumed run continues it."""
        progress = self.progress(stage)
        self.state.stage = stage
        fresh = progress["status"] != "running"
        if fresh:
            progress.update(status="running", started_at=utcnow().isoformat())
            self.state.checkpoint[stage] = {}
        self.commit()
        return fresh

    def end_stage(self, stage: str) -> None:
        self.progress(stage).update(status="done", finished_at=utcnow().isoformat())
        self.state.checkpoint.pop(stage, None)
        self.commit()

    def run_passes(self, pipeline: Pipeline, passes: list[StagePass]) -> None:
        """The paged passes of one or more stages on `pipeline`: their chains fetch on their own
        threads (within the shared call slots), their pages are applied here as they come."""
        by_stage = {p.stage: p for p in passes}
        try:
            pipeline.run_lanes(
                [({(p.stage, key): chain for key, chain in p.chains.items()}, p.threads) for p in passes],
                lambda key, page: by_stage[key[0]].apply(key[1], page),
                on_error=lambda key, exc: by_stage[key[0]].failed(key[1], exc), on_done=lambda key: None,
                on_idle=self.beat, on_wait=self.waiting)
        finally:
            for p in passes:
                p.close()
        self.flush_pages()

    # ---- shared inputs ---------------------------------------------------------------------------

    def follow_users(self) -> list[str]:
        """The members with customer contact (get_follow_user_list), read once per run and kept
        in the plan, so a resumed stage pages through the same batches."""
        if "follow_users" not in self.state.plan:
            reply = self.call(self.client().get_follow_user_list)
            userids = list(dict.fromkeys(u for u in reply.get("follow_user") or [] if isinstance(u, str) and u))
            # Everyone who has customers gets a staff row, even if the app can't list them.
            for batch in batches(userids, 500):
                ensure_rows(Staff, self.corp_id, ("userid",), [(userid,) for userid in batch])
            self.state.plan["follow_users"] = userids
            self.commit(plan=True)
        return self.state.plan["follow_users"]


def batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def newer_than(row: Any, created: bool, fetched_at: datetime) -> bool:
    """The race rule: a row changed after the WeCom page was fetched was changed by a callback
    that knows better; the page's older data must not overwrite it."""
    return not created and row.updated_at is not None and row.updated_at > fetched_at


def mark_seen(model: Any, ids: Iterable[int], run_id: int) -> None:
    """Stamp the rows WeCom listed, leaving updated_at alone (seeing a row is not changing it)."""
    ids = list(ids)
    if ids:
        db.session.execute(model.__table__.update().where(model.__table__.c.id.in_(ids))
                           .values(seen_run_id=run_id, updated_at=model.__table__.c.updated_at))
