"""The sync job: claim a SyncRun and run its stages in order, checkpointing as it goes.

Stages (each in its own module): staff → tags → customers → groups, the last two at once when
the run has both (customers_and_groups). A stage whose progress says "done" is never run again,
so a resumed run continues with the stage(s) it was in, each from its part of the checkpoint.
This module imports the stages; they import the engine (engine.py), which knows none of them.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from rq.timeouts import JobTimeoutException

from scrm.extensions import db
from scrm.logging import corp_id_var
from scrm.models import SyncStatus
from scrm.models.sync import SCOPES
from scrm.services.sync import customers, groups, runs, staff, tags
from scrm.services.sync.engine import Progress, Syncer
from scrm.services.sync.runs import Lost, RunState

log = logging.getLogger(__name__)

STAGES: dict[str, Callable[[Syncer], None]] = {
    "staff": staff.run, "tags": tags.run, "customers": customers.run, "groups": groups.run}


def execute(syncer: Syncer) -> None:
    """Run the stages the run asked for that are not done yet, then mark it succeeded."""
    for stage in SCOPES:
        if stage in syncer.state.scopes and syncer.progress(stage)["status"] != "done":
            log.info("sync %s: stage %s", syncer.state.id, stage)
            if stage == "customers" and _pending("groups", syncer):
                customers_and_groups(syncer)  # the groups stage is done after it
            else:
                STAGES[stage](syncer)
    syncer.state.finish(SyncStatus.SUCCEEDED)
    db.session.commit()
    if syncer.on_progress is not None:
        syncer.on_progress(syncer.state)


def _pending(stage: str, syncer: Syncer) -> bool:
    return stage in syncer.state.scopes and syncer.progress(stage)["status"] != "done"


def customers_and_groups(syncer: Syncer) -> None:
    """The customers and groups stages at once: the customers stage's writes are CPU-bound, the
    groups stage mostly waits on groupchat/get (its rate budget), so their passes share one
    pipeline: both fetch on their own threads within the run's call slots (concurrency), and the
    one writing thread applies the pages of both as they come, each stage committing its own
    cursors in its part of the checkpoint. Then each stage finishes (reconciliation) in order."""
    pipeline = syncer.pipeline(syncer.concurrency + groups.CHAIN_THREADS)
    passes = [p for p in (customers.start(syncer, pipeline), groups.start(syncer, pipeline)) if p is not None]
    syncer.state.stage = "customers"
    syncer.run_passes(pipeline, passes)
    for stage_pass in passes:
        syncer.state.stage = stage_pass.stage
        (customers if stage_pass.stage == customers.STAGE else groups).finish(syncer)


def run(run_id: int, *, sleep: Callable[[float], Any] | None = None, concurrency: int | None = None,
        on_progress: Progress | None = None, commit_seconds: float | None = None) -> str:
    """Claim and run one SyncRun (the `sync` queue's job body, and `flask scrm sync --wait`).
    Returns the final status, or "skipped" when another process holds the run.
    `commit_seconds`: how long applied pages may share a transaction (engine.COMMIT_SECONDS;
    0: each page its own)."""
    runner = secrets.token_hex(8)
    if not runs.claim(run_id, runner):
        log.info("sync run %s not claimable (finished, cancelled or running elsewhere)", run_id)
        return "skipped"
    state = RunState.load(run_id, runner)
    corp_id_var.set(state.corp_id)
    syncer = Syncer(state, sleep=sleep, concurrency=concurrency, on_progress=on_progress,
                    commit_seconds=commit_seconds)
    try:
        execute(syncer)
    except Lost as exc:
        db.session.rollback()
        log.warning("sync run %s stopped: %s", run_id, exc)
        return "lost"
    except JobTimeoutException:
        runs.requeue(state)  # a long sync continues in a new job, from its checkpoint
        raise
    except Exception as exc:  # noqa: BLE001 - recorded on the run, which is the job's outcome
        log.exception("sync run %s failed", run_id)
        syncer.rewind()  # runs.fail rolls back the pages applied since the last commit
        runs.fail(state, exc)
        if on_progress is not None:
            on_progress(state)
        return SyncStatus.FAILED.value
    log.info("sync run %s succeeded (%d errors)", run_id, state.error_count)
    return SyncStatus.SUCCEEDED.value
