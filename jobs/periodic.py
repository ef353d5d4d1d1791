"""Periodic sweeps. The scheduler enqueues them; `flask scrm tick` runs them in-process.

Later capabilities add their sweeps to SWEEPS.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from scrm.services import inbox, sync


@dataclass(frozen=True)
class Sweep:
    name: str
    func: Callable[[datetime | None], int]
    every_seconds: int


def sweep_inbox(now: datetime | None = None) -> int:
    return inbox.sweep(now)


def drain_spool(now: datetime | None = None) -> int:
    return inbox.drain_spool()


def sop_steps(now: datetime | None = None) -> int:
    from scrm.services import sop

    return sop.sweep(now)


def renew_media(now: datetime | None = None) -> int:
    from scrm.services import media

    return media.renew_due(now)


def nightly_sync(now: datetime | None = None) -> int:
    """Start each corp's nightly full sync once it is due (once per local day)."""
    return sync.start_nightly(now)


def resume_syncs(now: datetime | None = None) -> int:
    """Send a job again for sync runs whose worker died or whose job Redis lost."""
    return sync.resend_jobs(now)


def follow_up_reminders(now: datetime | None = None) -> int:
    from scrm.services import profile

    return profile.remind_due_follow_ups(now)


SWEEPS: list[Sweep] = [
    Sweep("drain-spool", drain_spool, every_seconds=15),
    Sweep("sweep-inbox", sweep_inbox, every_seconds=30),
    Sweep("sop-steps", sop_steps, every_seconds=60),  # due SOP tasks and mass-send result checks
    Sweep("renew-media", renew_media, every_seconds=600),  # media_ids before their 3-day expiry
    Sweep("nightly-sync", nightly_sync, every_seconds=60),
    Sweep("resume-syncs", resume_syncs, every_seconds=60),
    Sweep("follow-up-reminders", follow_up_reminders, every_seconds=60),  # sidebar 跟进记录
]


def run_sweep(name: str, now_iso: str | None = None) -> int:
    """Job entry point used by the scheduler (JSON-serialisable arguments only)."""
    sweep = next(s for s in SWEEPS if s.name == name)
    return sweep.func(datetime.fromisoformat(now_iso) if now_iso else None)
