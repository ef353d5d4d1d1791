"""The deployment's status as JSON (GET /api/v1/status, `flask scrm status --json`).
Each field is explained, with what to do when it looks bad, in docs/operations.md."""
from __future__ import annotations

from marshmallow import Schema, fields

from scrm.schemas.common import UtcDateTime, described

SECONDS = "Seconds (one decimal)"


class QueueSchema(Schema):
    name = fields.String()
    depth = fields.Integer(metadata=described("Jobs waiting in the queue."))
    oldest_age_seconds = fields.Float(allow_none=True, metadata=described(
        f"{SECONDS} the oldest waiting job has waited; null when the queue is empty."))
    scheduled = fields.Integer(metadata=described("Delayed jobs (retries) not due yet."))
    running = fields.Integer()
    failed = fields.Integer(metadata=described("Jobs in the queue's failed registry (kept 7 days)."))
    workers = fields.Integer(metadata=described("Workers registered on the queue."))


class FailedGroupSchema(Schema):
    function = fields.String(metadata=described("The job function's dotted path."))
    count = fields.Integer()
    last_failed_at = UtcDateTime(allow_none=True)
    last_error = fields.String(allow_none=True, metadata=described(
        "Exception type and the first line of its message; quoted values and ids blanked."))


class FailedJobsSchema(Schema):
    total = fields.Integer(metadata=described("Failed jobs in all queues."))
    by_function = fields.List(fields.Nested(FailedGroupSchema), metadata=described(
        "Grouped by function over the newest 1,000 failed jobs per queue; most failures first."))


class InboxSchema(Schema):
    pending = fields.Integer()
    failed = fields.Integer()
    oldest_pending_age_seconds = fields.Float(allow_none=True)
    last_hour = fields.Dict(keys=fields.String(), values=fields.Integer(),
                            metadata=described("Callbacks received in the last hour, by status."))


class SpoolSchema(Schema):
    directory = fields.String()
    files = fields.Integer(metadata=described("Spool files not drained yet (this host's)."))
    bytes = fields.Integer()
    oldest_age_seconds = fields.Float(allow_none=True)


class LastSyncSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    scopes = fields.List(fields.String())
    full = fields.Boolean()
    requested_by = fields.String(allow_none=True)
    created_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)
    error_count = fields.Integer()
    age_seconds = fields.Float()


class ApiLineSchema(Schema):
    api = fields.String(metadata=described("WeCom API path, e.g. externalcontact/get."))
    calls = fields.Integer()
    errors = fields.Integer()
    errcodes = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=described(
        "Failed calls per WeCom errcode; `http`: no JSON answer (timeout, HTTP error)."))
    peak_minute = fields.Integer(metadata=described("Calls in the busiest minute of the hour."))


class RateBudgetSchema(Schema):
    per_minute = fields.Integer()
    per_hour = fields.Integer()
    peak_minute_calls = fields.Integer()
    hour_calls = fields.Integer()
    headroom = fields.Float(metadata=described(
        "1 − the larger of peak_minute_calls/per_minute and hour_calls/per_hour (0 … 1)."))
    burst_left = fields.Float(metadata=described("The rate limiter's burst left, least of any API (0: calls wait)."))
    throttled_apis = fields.List(fields.String())


class WeComCallsSchema(Schema):
    calls = fields.Integer(metadata=described("WeCom API calls in the last hour."))
    errors = fields.Integer()
    apis = fields.List(fields.Nested(ApiLineSchema))
    rate_budget = fields.Nested(RateBudgetSchema)


class CorpStatusSchema(Schema):
    corp_id = fields.String()
    last_sync = fields.Nested(LastSyncSchema, allow_none=True)
    wecom = fields.Nested(WeComCallsSchema)


class SchedulerSchema(Schema):
    running = fields.Boolean(metadata=described("A scheduler holds the scheduler lock."))
    pid = fields.Integer(allow_none=True)
    host = fields.String(allow_none=True)
    heartbeat_age_seconds = fields.Float(allow_none=True, metadata=described(
        "Seconds since the scheduler last renewed its lock (every 5 s; it lapses after 15 s)."))


class StatusSchema(Schema):
    generated_at = UtcDateTime()
    queues = fields.List(fields.Nested(QueueSchema))
    failed_jobs = fields.Nested(FailedJobsSchema)
    inbox = fields.Nested(InboxSchema)
    spool = fields.Nested(SpoolSchema)
    corps = fields.List(fields.Nested(CorpStatusSchema))
    scheduler = fields.Nested(SchedulerSchema)
