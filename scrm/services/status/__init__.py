"""The deployment at a glance (`flask scrm status`, GET /api/v1/status, /metrics): one read of
queues, failed jobs, the inbox, the spool, each corp's last sync, WeCom calls and rate budget,
and the scheduler's heartbeat. Read only; every field is described in docs/operations.md.

Queues, failed jobs, the spool and the scheduler are the deployment's; the inbox and the corp
sections are limited to ``corp_ids`` when given (the Open API shows a token its own corp).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import select

from scrm import scheduler_lock
from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import Corp
from scrm.queueing import redis_connection
from scrm.services.status.data import inbox_status, last_syncs, spool_status
from scrm.services.status.jobs import (
    FailedGroup,
    FailedJob,
    QueueStatus,
    failed_by_function,
    failed_jobs,
    queue_statuses,
    retry_failed,
)
from scrm.services.status.wecom import corp_calls

__all__ = ["FailedGroup", "FailedJob", "QueueStatus", "corp_ids", "failed_jobs", "gather", "retry_failed"]


def corp_ids() -> list[str]:
    """The corps this deployment serves: the environment's, then those registered with
    `flask scrm corp add` (not in sandbox mode, which serves the simulator's corp only)."""
    cfg = settings()
    ids = [cfg.wecom_corp_id]
    if not cfg.sandbox:
        ids += [corp_id for corp_id in db.session.scalars(
            select(Corp.corp_id).where(Corp.secret.is_not(None)).order_by(Corp.corp_id)) if corp_id not in ids]
    db.session.rollback()
    return ids


def gather(only_corps: list[str] | None = None) -> dict[str, Any]:
    """Everything, as plain data (datetimes naive UTC); StatusSchema is its JSON form."""
    connection = redis_connection()
    corps = only_corps if only_corps is not None else corp_ids()
    failed_total, failed_groups = failed_by_function(connection)
    syncs = last_syncs(corps)
    holder = scheduler_lock.holder(connection)
    return {
        "generated_at": utcnow(),
        "queues": [asdict(queue) for queue in queue_statuses(connection)],
        "failed_jobs": {"total": failed_total, "by_function": [asdict(group) for group in failed_groups]},
        "inbox": asdict(inbox_status(only_corps)),
        "spool": asdict(spool_status()),
        "corps": [{"corp_id": corp_id,
                   "last_sync": asdict(syncs[corp_id]) if syncs[corp_id] else None,
                   "wecom": asdict(corp_calls(corp_id, connection))} for corp_id in corps],
        "scheduler": {"running": holder is not None,
                      "pid": holder.pid if holder else None, "host": holder.host if holder else None,
                      "heartbeat_age_seconds": holder.heartbeat_age if holder else None},
    }
