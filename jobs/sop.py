from datetime import datetime

from scrm.services import sop


def run_task(task_id: int, as_of: str | None = None) -> str:
    return sop.run_task(task_id, datetime.fromisoformat(as_of) if as_of else None)


def check_task(task_id: int, as_of: str | None = None) -> str:
    return sop.check_task(task_id, datetime.fromisoformat(as_of) if as_of else None)
