"""Periodic sweeps: thin job functions, each named in the sweep table (scrm.queueing.SWEEPS).

The scheduler enqueues `run_sweep(name)`; `flask scrm tick` runs them all in-process. A new
sweep is a function here and a row in that table.
"""
from __future__ import annotations

from datetime import datetime

from scrm.queueing import sweep_named
from scrm.services import (
    bulk,
    churn,
    digest,
    group_sop,
    group_stats,
    handover,
    inbox,
    mass_messages,
    media,
    profile,
    recall,
    reports,
    sop,
    sync,
)
from scrm.services import churn_alerts as churn_alerts_service


def sweep_inbox(now: datetime | None = None) -> int:
    return inbox.sweep(now)


def drain_spool(now: datetime | None = None) -> int:
    return inbox.drain_spool()


def sop_steps(now: datetime | None = None) -> int:
    return sop.sweep(now)


def group_sops(now: datetime | None = None) -> int:
    return group_sop.sweep(now)


def handovers(now: datetime | None = None) -> int:
    """Approved handover batches whose job was lost, and waiting transfers due a transfer_result poll."""
    return handover.sweep(now)


def renew_media(now: datetime | None = None) -> int:
    return media.renew_due(now)


def nightly_sync(now: datetime | None = None) -> int:
    """Start each corp's nightly full sync once it is due (once per local day)."""
    return sync.start_nightly(now)


def resume_syncs(now: datetime | None = None) -> int:
    """Send a job again for sync runs whose worker died or whose job Redis lost."""
    return sync.resend_jobs(now)


def follow_up_reminders(now: datetime | None = None) -> int:
    return profile.remind_due_follow_ups(now)


def group_stats_nightly(now: datetime | None = None) -> int:
    """Rebuild the daily group figures and pull WeCom's owner figures, once per local day."""
    return group_stats.run_nightly(now)


def churn_scoring(now: datetime | None = None) -> int:
    """Relation signals, scores and risk levels, WeCom's behaviour figures, once per local day."""
    return churn.run_nightly(now)


def recalls(now: datetime | None = None) -> int:
    """Recall playbooks: recalls from the nightly level changes, outcomes, due deliveries."""
    return recall.sweep(now)


def churn_alerts(now: datetime | None = None) -> int:
    """Churn alerts to members and managers: today's dormant digest once due, then one message per
    recipient holding their pending alerts."""
    return churn_alerts_service.sweep(now)


def reports_nightly(now: datetime | None = None) -> int:
    """The report aggregates of the last days, once per local day after SCRM_REPORTS_AT."""
    return reports.run_nightly(now)


def reports_today(now: datetime | None = None) -> int:
    """Today's report aggregates from the day's events."""
    return reports.refresh_today(now)


def morning_digest(now: datetime | None = None) -> int:
    """The morning digest: today's rows once SCRM_DIGEST_AT has passed and the night's report
    aggregation has run, then one app message per ready row."""
    return digest.sweep(now)


def mass_message_tasks(now: datetime | None = None) -> int:
    """Mass messages to segments: builds, WeCom tasks to create, results to read back."""
    return mass_messages.sweep(now)


def bulk_jobs(now: datetime | None = None) -> int:
    """Bulk actions: reassign items follow their transfers; queued, given-back and stalled jobs run."""
    return bulk.sweep(now)


def run_sweep(name: str, now_iso: str | None = None) -> int:
    """Job entry point used by the scheduler (JSON-serialisable arguments only)."""
    return sweep_named(name).run(datetime.fromisoformat(now_iso) if now_iso else None)
