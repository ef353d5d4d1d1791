"""Recall playbook jobs (the messages queue): deliver a due recall, check a mass-send result."""
from datetime import datetime

from scrm.services import recall


def run_recall(recall_id: int, as_of: str | None = None) -> str:
    return recall.run_recall(recall_id, datetime.fromisoformat(as_of) if as_of else None)


def check_recall(recall_id: int, as_of: str | None = None) -> str:
    return recall.check_recall(recall_id, datetime.fromisoformat(as_of) if as_of else None)
