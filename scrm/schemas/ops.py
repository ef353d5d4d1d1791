"""Open API v1: what the operations page reads besides /status, /events, /syncs and /audit-log —
failed jobs (retry, delete) and WeCom API errors over time. Admin scope."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from scrm.queueing import QUEUES
from scrm.schemas.common import UtcDateTime, described

QUEUE_NAMES = list(QUEUES)
RANGE_MINUTES = 24 * 60  # the per-minute counters are kept a day (scrm/wecom/callstats.py)


class FailedJobArgsSchema(Schema):
    queue = fields.String(validate=validate.OneOf(QUEUE_NAMES),
                          metadata=described("Only this queue's failed jobs: " + ", ".join(QUEUE_NAMES) + "."))


class FailedJobSchema(Schema):
    id = fields.String(metadata=described("The RQ job id."))
    queue = fields.String()
    function = fields.String(allow_none=True, metadata=described(
        "The job function's dotted path (null when the job's data has expired)."))
    exception = fields.String(allow_none=True, metadata=described(
        "The exception's type only: a job's arguments and error messages may carry personal data."))
    created_at = UtcDateTime(allow_none=True)
    enqueued_at = UtcDateTime(allow_none=True)
    started_at = UtcDateTime(allow_none=True)
    failed_at = UtcDateTime(allow_none=True)


class WecomErrorsArgsSchema(Schema):
    minutes = fields.Integer(load_default=60, validate=validate.Range(1, RANGE_MINUTES), metadata=described(
        f"The last N calendar minutes, this one included (1..{RANGE_MINUTES}, default 60)."))
    api = fields.String(validate=validate.Length(1, 128), metadata=described(
        "Only this WeCom API path, e.g. externalcontact/get."))


class ErrorPointSchema(Schema):
    at = UtcDateTime(metadata=described("The step's first minute."))
    calls = fields.Integer()
    errors = fields.Integer()


class ApiErrorsSchema(Schema):
    api = fields.String(metadata=described("The WeCom API path."))
    calls = fields.Integer()
    errors = fields.Integer()
    errcodes = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=described(
        "Failures per WeCom errcode; `http` when WeCom never answered with JSON (timeout, HTTP error)."))


class WecomErrorsSchema(Schema):
    minutes = fields.Integer()
    step_minutes = fields.Integer(metadata=described("Minutes per point: 1 up to 2 hours, then 5, 10, 15, 30, 60."))
    calls = fields.Integer()
    errors = fields.Integer()
    points = fields.List(fields.Nested(ErrorPointSchema), metadata=described(
        "Every step of the range, oldest first (zeros where nothing was called)."))
    apis = fields.List(fields.Nested(ApiErrorsSchema), metadata=described("Per API, the most errors first."))
