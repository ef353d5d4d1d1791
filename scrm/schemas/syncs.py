"""Open API v1: synchronisation runs (POST /api/v1/syncs starts one)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from scrm.models import SyncStatus
from scrm.models.sync import SCOPES
from scrm.schemas.common import UtcDateTime, described

SYNC_STATUSES = [status.value for status in SyncStatus]


class SyncStartSchema(Schema):
    only = fields.List(fields.String(validate=validate.OneOf(SCOPES)), load_default=None,
                       metadata=described("Stages to run, any of: " + ", ".join(SCOPES) + " (default: all). "
                                          "They run in that order."))
    full = fields.Boolean(load_default=False, metadata=described(
        "Reconcile too: relations, groups and tags WeCom no longer lists are marked gone "
        "(deleted_unknown, dismissed, deleted), only after a pass of their stage without errors."))


class StageProgressSchema(Schema):
    status = fields.String(metadata=described("pending | running | done"))
    done = fields.Integer(metadata=described("Items applied: members, tags, relations (customers), groups."))
    total = fields.Integer(allow_none=True, metadata=described(
        "Known total so far (null while unknown: WeCom gives no count of relations)."))
    errors = fields.Integer()
    gone = fields.Integer(metadata=described("Marked gone by the reconciliation (full runs)."))
    staff_done = fields.Integer(metadata=described("customers: members whose relations are all read."))
    staff_total = fields.Integer(metadata=described("customers: members with customer contact."))
    reconcile = fields.String(metadata=described("Why the reconciliation was skipped, if it was."))
    started_at = fields.String(metadata=described("ISO-8601 UTC."))
    finished_at = fields.String(metadata=described("ISO-8601 UTC."))


class SyncErrorSchema(Schema):
    stage = fields.String()
    api = fields.String(allow_none=True, metadata=described("The WeCom API path, e.g. externalcontact/groupchat/get."))
    errcode = fields.Integer(allow_none=True, metadata=described("WeCom's errcode; null for transport errors."))
    errmsg = fields.String()
    item = fields.String(allow_none=True, metadata=described("The chat_id, customer or members concerned."))
    at = fields.String(metadata=described("ISO-8601 UTC."))


class SyncRunSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata=described("One of: " + ", ".join(SYNC_STATUSES) + "."))
    scopes = fields.List(fields.String())
    full = fields.Boolean()
    stage = fields.String(allow_none=True, metadata=described("The stage running, or the last one run."))
    stages = fields.Dict(keys=fields.String(), values=fields.Nested(StageProgressSchema),
                         metadata=described("Per stage (`scopes` gives the order they run in)."))
    errors = fields.List(fields.Nested(SyncErrorSchema), metadata=described("The first 100 errors."))
    error_count = fields.Integer()
    requested_by = fields.String(allow_none=True, metadata=described("cli | api | nightly"))
    attempts = fields.Integer(metadata=described("How many times a worker took the run (resumes)."))
    created_at = UtcDateTime()
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)
    heartbeat_at = UtcDateTime(allow_none=True)


class SyncListArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(SYNC_STATUSES))
