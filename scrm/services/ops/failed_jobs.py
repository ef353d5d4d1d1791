"""Failed jobs of every queue (RQ's failed job registries), a page at a time; retry or delete one.

A job's arguments may carry personal data (a customer's name in an error, an external_userid),
so a failed job is shown as the logs show it: its function, queue, times and the exception's
type — never its arguments or the exception's message. Retrying and deleting are recorded in the
audit log (target_type ``job``), with the acting token or console member.

The registries are the deployment's, not a corp's (as `flask scrm failed` and /api/v1/status).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis as redis_lib
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from scrm.extensions import db
from scrm.queueing import QUEUES, get_queue, redis_connection
from scrm.services.access import audit
from scrm.services.status import retry_failed

_EXCEPTION_TYPE = re.compile(r"[A-Za-z_][\w.]{0,127}")


@dataclass(frozen=True)
class FailedJobView:
    id: str
    queue: str
    function: str | None
    exception: str | None  # the exception's type only, e.g. "wecom.errors.WeComError"
    created_at: datetime | None
    enqueued_at: datetime | None
    started_at: datetime | None
    failed_at: datetime | None


@dataclass(frozen=True)
class FailedJobPage:
    total: int
    jobs: list[FailedJobView]


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def exception_type(exc_string: str | None) -> str | None:
    """The type of the exception a formatted traceback ends with (the line after the last frame,
    up to its colon); None when there is no such line."""
    if not exc_string:
        return None
    lines = exc_string.rstrip().splitlines()
    last_frame = max((i for i, line in enumerate(lines) if line.startswith('  File "')), default=-1)
    header = next((line for line in lines[last_frame + 1:] if line and not line[0].isspace()), "")
    name = header.split(":", 1)[0].strip()
    return name if _EXCEPTION_TYPE.fullmatch(name) else None


def _function(job: Job) -> str | None:
    try:
        return job.func_name
    except Exception:  # noqa: BLE001 - an undecodable job still shows up, unnamed
        return None


def _view(job_id: str, queue: str, job: Job | None) -> FailedJobView:
    if job is None:  # its hash expired before the registry entry
        return FailedJobView(job_id, queue, None, None, None, None, None, None)
    result = job.latest_result()
    return FailedJobView(job.id, queue, _function(job),
                         exception_type(result.exc_string if result is not None else None),
                         _naive_utc(job.created_at), _naive_utc(job.enqueued_at), _naive_utc(job.started_at),
                         _naive_utc(job.ended_at))


def failed_page(queue: str | None, offset: int, limit: int,
                connection: redis_lib.Redis | None = None) -> FailedJobPage:
    """Failed jobs of ``queue`` (None: every queue), newest failure first, ``limit`` from ``offset``.

    One ZRANGEBYSCORE per queue for the ids (a registry's score is when the entry expires: the
    failure time plus the queue's failure_ttl, the same for every job of a queue), then only the
    page's jobs are read."""
    connection = connection or redis_connection()
    now = time.time()
    entries: list[tuple[float, str, str]] = []
    for name in ([queue] if queue else list(QUEUES)):
        registry = FailedJobRegistry(queue=get_queue(name, connection))
        spec = QUEUES[name]
        for raw_id, score in connection.zrangebyscore(registry.key, now, "+inf", withscores=True):
            job_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
            entries.append((score - spec.failure_ttl, job_id, name))
    entries.sort(key=lambda entry: (-entry[0], entry[1]))
    chosen = entries[offset:offset + limit]
    jobs = Job.fetch_many([job_id for _, job_id, _ in chosen], connection, serializer=JSONSerializer)
    views = [(score, _view(job_id, name, job)) for (score, job_id, name), job in zip(chosen, jobs, strict=True)]
    # Scores are whole seconds: within one, the job's own end time orders the page.
    views.sort(key=lambda item: (item[0], item[1].failed_at or datetime.min), reverse=True)
    return FailedJobPage(len(entries), [view for _, view in views])


def _failed_queue(job_id: str, connection: redis_lib.Redis) -> tuple[Job, str] | None:
    """The job and its queue when ``job_id`` is in its queue's failed registry."""
    try:
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return None
    if job.origin not in QUEUES:
        return None
    registry = FailedJobRegistry(queue=get_queue(job.origin, connection))
    if connection.zscore(registry.key, job_id) is None:
        return None
    return job, job.origin


def _record(corp_id: str, actor: str, action: str, job_id: str, queue: str, ip: str | None) -> None:
    audit(corp_id, actor[:64], action, "job", job_id[:64], detail={"queue": queue}, ip=ip)
    db.session.commit()


def retry_one(corp_id: str, job_id: str, actor: str, *, ip: str | None = None,
              connection: redis_lib.Redis | None = None) -> FailedJobView | None:
    """Put a failed job back on its queue (RQ's requeue: same id, same arguments); None when
    ``job_id`` is not a failed job."""
    connection = connection or redis_connection()
    found = _failed_queue(job_id, connection)
    if found is None:
        return None
    job, queue = found
    view = _view(job_id, queue, job)
    requeued, _ = retry_failed([job_id], connection)
    if not requeued:
        return None
    _record(corp_id, actor, "retry_job", job_id, queue, ip)
    return view


def delete_failed(corp_id: str, job_id: str, actor: str, *, ip: str | None = None,
                  connection: redis_lib.Redis | None = None) -> bool:
    """Remove a failed job from its registry and delete it; False when it is not a failed job."""
    connection = connection or redis_connection()
    found = _failed_queue(job_id, connection)
    if found is not None:
        job, queue = found
        FailedJobRegistry(queue=get_queue(queue, connection)).remove(job, delete_job=True)
        _record(corp_id, actor, "delete_job", job_id, queue, ip)
        return True
    for queue in QUEUES:  # an entry whose job hash expired first (listed without a function)
        if connection.zrem(FailedJobRegistry(queue=get_queue(queue, connection)).key, job_id):
            _record(corp_id, actor, "delete_job", job_id, queue, ip)
            return True
    return False
