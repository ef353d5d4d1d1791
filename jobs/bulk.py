"""Bulk action jobs (the messages queue): run a job's next batches (scrm/services/bulk)."""
from scrm.services import bulk


def run(job_id: int) -> str:
    return bulk.run(job_id)
