"""RQ as operators see it: queue depths and ages, failed jobs (listed, grouped, retried).

Everything goes through RQ's public API (Queue, the job registries, Job.fetch_many,
FailedJobRegistry.requeue) on the app's Redis, with the JSON serializer every job uses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import redis as redis_lib
from rq import Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from scrm.clock import utcnow
from scrm.logging import redact
from scrm.queueing import QUEUES, get_queue, redis_connection

OLDEST_LOOKAHEAD = 20  # queued ids whose job hash expired (their TTL) are skipped for the age
GROUP_SCAN = 1000  # failed jobs per queue read to group by function (the totals are exact)
ERROR_LINE_MAX = 200

_QUOTED = re.compile(r"""(['"])(?:(?!\1).){1,200}\1""")
# WeCom ids of customers and groups (external_userid wm/wo…, chat_id wr…) as bare words.
_WECOM_ID = re.compile(r"\b(?:wm|wo|wr)[A-Za-z0-9_-]{10,}\b")


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _age(since: datetime | None, now: datetime) -> float | None:
    since = _naive_utc(since)
    return None if since is None else round(max(0.0, (now - since).total_seconds()), 1)


@dataclass(frozen=True)
class QueueStatus:
    name: str
    depth: int  # job ids waiting in the queue (those whose job expired are skipped when dequeued)
    oldest_age_seconds: float | None  # how long the oldest waiting job has waited
    scheduled: int  # delayed jobs (e.g. retries) not yet due
    running: int
    failed: int
    workers: int  # workers registered on the queue


def queue_statuses(connection: redis_lib.Redis | None = None) -> list[QueueStatus]:
    connection = connection or redis_connection()
    now = utcnow()
    result = []
    for name in QUEUES:
        queue = get_queue(name, connection)
        ids = queue.get_job_ids(0, OLDEST_LOOKAHEAD - 1)
        oldest = next((job for job in Job.fetch_many(ids, connection, serializer=JSONSerializer)
                       if job is not None), None)
        result.append(QueueStatus(
            name=name, depth=queue.count,
            oldest_age_seconds=_age(oldest.enqueued_at, now) if oldest else None,
            # No clean-up here: the started registry's would fail abandoned jobs (the workers' job).
            scheduled=ScheduledJobRegistry(queue=queue).get_job_count(cleanup=False),
            running=StartedJobRegistry(queue=queue).get_job_count(cleanup=False),
            failed=FailedJobRegistry(queue=queue).count,
            workers=Worker.count(connection=connection, queue=queue)))
    return result


def error_line(exc_string: str | None) -> str | None:
    """The exception's type and the first line of its message, from a formatted traceback, with
    quoted values, customer and group ids, mobiles and payloads blanked: no personal data."""
    if not exc_string:
        return None
    lines = exc_string.rstrip().splitlines()
    last_frame = max((i for i, line in enumerate(lines) if line.startswith('  File "')), default=-1)
    header = next((line for line in lines[last_frame + 1:] if line and not line[0].isspace()),
                  lines[-1] if lines else "")
    header = _WECOM_ID.sub("[id]", _QUOTED.sub(r"\1…\1", redact(header.strip())))
    return header[:ERROR_LINE_MAX]


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    function: str | None
    failed_at: datetime | None
    error: str | None


def _failed_ids(connection: redis_lib.Redis, limit: int | None) -> list[tuple[str, list[str]]]:
    end = -1 if limit is None else limit - 1
    return [(name, FailedJobRegistry(queue=get_queue(name, connection)).get_job_ids(0, end, desc=True))
            for name in QUEUES]


def failed_jobs(limit: int | None = 50, *, connection: redis_lib.Redis | None = None) -> list[FailedJob]:
    """Failed jobs with their error lines, newest first (at most ``limit``; None: all)."""
    found = _read_failed(connection or redis_connection(), limit, with_errors=True)
    found.sort(key=lambda job: job.failed_at or datetime.min, reverse=True)
    return found if limit is None else found[:limit]


def _read_failed(connection: redis_lib.Redis, per_queue: int | None, *, with_errors: bool) -> list[FailedJob]:
    """The newest ``per_queue`` failed jobs of each queue (None: all), unsorted."""
    found: list[FailedJob] = []
    for queue, ids in _failed_ids(connection, per_queue):
        for job_id, job in zip(ids, Job.fetch_many(ids, connection, serializer=JSONSerializer), strict=True):
            if job is None:  # its hash expired before the registry entry
                found.append(FailedJob(job_id, queue, None, None, None))
                continue
            error = None
            if with_errors:
                result = job.latest_result()
                error = error_line(result.exc_string if result is not None else None)
            found.append(FailedJob(job.id, queue, _function(job), _naive_utc(job.ended_at), error))
    return found


def _function(job: Job) -> str | None:
    try:
        return job.func_name
    except Exception:  # noqa: BLE001 - an undecodable job still shows up, unnamed
        return None


@dataclass(frozen=True)
class FailedGroup:
    function: str
    count: int
    last_failed_at: datetime | None
    last_error: str | None


def failed_by_function(connection: redis_lib.Redis | None = None) -> tuple[int, list[FailedGroup]]:
    """(failed jobs in all, their newest GROUP_SCAN per queue grouped by function with the last
    error of each function), the function with the most failures first."""
    connection = connection or redis_connection()
    total = sum(FailedJobRegistry(queue=get_queue(name, connection)).count for name in QUEUES)
    jobs = _read_failed(connection, GROUP_SCAN, with_errors=False)
    jobs.sort(key=lambda job: job.failed_at or datetime.min, reverse=True)
    groups: dict[str, list[FailedJob]] = {}
    for job in jobs:  # newest first
        groups.setdefault(job.function or "?", []).append(job)
    result = []
    for function, members in groups.items():
        newest = members[0]
        error = None
        if newest.function is not None:
            job = Job.fetch(newest.id, connection=connection, serializer=JSONSerializer)
            latest = job.latest_result()
            error = error_line(latest.exc_string if latest is not None else None)
        result.append(FailedGroup(function, len(members), newest.failed_at, error))
    result.sort(key=lambda group: (-group.count, group.function))
    return total, result


def retry_failed(job_ids: list[str] | None = None, connection: redis_lib.Redis | None = None
                 ) -> tuple[list[str], list[str]]:
    """Requeue failed jobs (``job_ids``; None: every failed job) on the queue they came from.
    Returns (requeued ids, ids that are not failed jobs)."""
    connection = connection or redis_connection()
    if job_ids is None:
        wanted = [(queue, job_id) for queue, ids in _failed_ids(connection, None) for job_id in ids]
    else:
        wanted = []
        for job_id in job_ids:
            try:
                wanted.append((Job.fetch(job_id, connection=connection, serializer=JSONSerializer).origin, job_id))
            except NoSuchJobError:
                wanted.append(("", job_id))
    requeued, missing = [], []
    for queue, job_id in wanted:
        if queue not in QUEUES:
            missing.append(job_id)
            continue
        try:
            FailedJobRegistry(queue=get_queue(queue, connection)).requeue(job_id)
        except (InvalidJobOperation, NoSuchJobError):
            missing.append(job_id)
        else:
            requeued.append(job_id)
    return requeued, missing
