"""Full and incremental synchronisation with WeCom (issue #4): staff, tags, customers, groups.

Entry points: `start` (a queued run + its job), `run` (the job body: claim and execute),
`cancel`, `resume`, the sweeps `start_nightly` and `resend_jobs`, and `to_dict` for the API and
CLI. See runner.py for how a run proceeds, engine.py for what the stages share and the stage
modules for what each stage reads.
"""
from __future__ import annotations

from typing import Any

from scrm.models import SyncRun
from scrm.services.sync.runner import run
from scrm.services.sync.runs import (
    SCOPES,
    AlreadyRunning,
    active_run,
    cancel,
    normalise_scopes,
    resend_jobs,
    resume,
    start,
)
from scrm.services.sync.schedule import start_nightly

__all__ = ["SCOPES", "AlreadyRunning", "active_run", "cancel", "normalise_scopes", "resend_jobs", "resume",
           "run", "start", "start_nightly", "to_dict"]


def to_dict(run: SyncRun) -> dict[str, Any]:
    """A run as the API and the CLI show it (stages in the order they run)."""
    stages = {scope: dict(run.progress.get(scope) or {}) for scope in SCOPES if scope in (run.scopes or [])}
    return {"id": run.id, "corp_id": run.corp_id, "status": run.status, "scopes": list(run.scopes or []),
            "full": run.full, "stage": run.stage, "stages": stages, "errors": list(run.errors or []),
            "error_count": run.error_count, "requested_by": run.requested_by, "attempts": run.attempts,
            "created_at": run.created_at, "started_at": run.started_at, "finished_at": run.finished_at,
            "heartbeat_at": run.heartbeat_at}
