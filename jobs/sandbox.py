"""Sandbox mode: the sweeps caught up after the simulator moved the clock (「时间快进」)."""
from __future__ import annotations

from datetime import datetime

from scrm.services.sandbox_catch_up import catch_up as run_catch_up


def catch_up(now_iso: str | None = None) -> dict:
    return run_catch_up(datetime.fromisoformat(now_iso) if now_iso else None)
