from datetime import datetime

from scrm.services import group_sop


def run_batch(plan_id: int, step_id: int, owner: str, as_of: str | None = None) -> str:
    return group_sop.run_batch(plan_id, step_id, owner, datetime.fromisoformat(as_of) if as_of else None)


def run_batches(runs: list, as_of: str | None = None) -> list[str]:
    return group_sop.run_batches([tuple(run) for run in runs], datetime.fromisoformat(as_of) if as_of else None)


def check_msg(msgid: str, as_of: str | None = None) -> str:
    return group_sop.check_msg(msgid, datetime.fromisoformat(as_of) if as_of else None)
