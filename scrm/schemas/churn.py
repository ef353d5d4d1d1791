"""Open API v1: churn scores (GET /api/v1/churn/*)."""
from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from scrm.models.churn_alert import AlertKind, AlertStatus
from scrm.schemas.common import UtcDateTime, described
from scrm.schemas.group_stats import MAX_RANGE_DAYS, DayRangeArgs

RANGE_NOTE = (f"Corp-local dates YYYY-MM-DD, `from` ≤ `to`, at most {MAX_RANGE_DAYS} days; "
              "default: the 30 days up to today (by month: the 12 months up to today).")
LEVEL_NOTE = "active 活跃 | cooling 降温 | dormant 沉睡 | lost 流失"


class ChurnRangeArgsSchema(DayRangeArgs):
    """The group statistics' day range (same checks), described with the churn reports' defaults."""

    from_ = fields.Date(data_key="from", metadata=described("First day (inclusive). " + RANGE_NOTE))


ReasonSchema = Schema.from_dict({
    "code": fields.String(metadata=described("deleted_by_customer | deleted_by_staff | deleted_unknown | "
                                             "days_silent | trend_up | trend_down | trend_flat")),
    "text": fields.String(metadata=described("Display text (Simplified Chinese)."))}, name="ChurnReason")

RelationRiskSchema = Schema.from_dict({
    "userid": fields.String(), "external_userid": fields.String(),
    "level": fields.String(metadata=described(LEVEL_NOTE)), "label": fields.String(),
    "score": fields.Integer(metadata=described("RFE score 0..100: 8·recency + 6·frequency + 6·engagement.")),
    "recency": fields.Integer(), "frequency": fields.Integer(), "engagement": fields.Integer(),
    "days_silent": fields.Integer(allow_none=True, metadata=described("Whole days since `silent_since`, now.")),
    "silent_since": UtcDateTime(allow_none=True, metadata=described(
        "The last interaction, or the add when later (or when there was none).")),
    "last_interaction_at": UtcDateTime(allow_none=True), "last_inbound_at": UtcDateTime(allow_none=True),
    "active_days_30": fields.Integer(), "active_days_90": fields.Integer(),
    "reply_days_90": fields.Integer(metadata=described("Days the customer wrote (chat archive), last 90.")),
    "in_group": fields.Boolean(metadata=described("The customer is in a group the member owns.")),
    "trend": fields.String(metadata=described("up | down | flat: the last 30 days against the 60 before.")),
    "previous_level": fields.String(allow_none=True), "level_changed_at": UtcDateTime(allow_none=True),
    "scored_at": UtcDateTime(allow_none=True, metadata=described("When the scores last changed.")),
    "reasons": fields.List(fields.Nested(ReasonSchema))}, name="RelationRisk")

_FIGURES = {
    "relations": fields.Integer(metadata=described("Relations scored (transfers excluded).")),
    "active": fields.Integer(), "cooling": fields.Integer(), "dormant": fields.Integer(), "lost": fields.Integer(),
    "deleted_by_customer": fields.Integer(metadata=described("Relations the customer ended in the range.")),
    "deleted_by_staff": fields.Integer(metadata=described("Relations the member ended in the range (not transfers).")),
    "became_dormant": fields.Integer(metadata=described("Now dormant, since a day in the range.")),
    "became_lost": fields.Integer(metadata=described("Now lost, since a day in the range.")),
    "average_score": fields.Float(allow_none=True),
}
StaffChurnSchema = Schema.from_dict({
    "userid": fields.String(), **_FIGURES,
    "wecom_negative_feedback": fields.Integer(allow_none=True, metadata=described(
        "WeCom's count over the range of customers who deleted or blocked the member (get_user_behavior_data).")),
    "wecom_chats": fields.Integer(allow_none=True),
    "wecom_reply_percentage": fields.Float(allow_none=True, metadata=described("Average of the days' figures.")),
    "wecom_avg_reply_minutes": fields.Float(allow_none=True)}, name="StaffChurn")
ChannelChurnSchema = Schema.from_dict({
    "state": fields.String(allow_none=True, metadata=described("The add's `state` (a channel code's); null: none.")),
    "channel": fields.String(allow_none=True, metadata=described("The channel's name, when the state is one.")),
    **_FIGURES}, name="ChannelChurn")
MonthChurnSchema = Schema.from_dict({
    "month": fields.String(metadata=described("YYYY-MM (corp-local).")),
    "deleted_by_customer": fields.Integer(), "deleted_by_staff": fields.Integer(),
    "became_dormant": fields.Integer(), "became_lost": fields.Integer()}, name="MonthChurn")


def _report(name: str, rows: type[Schema]) -> type[Schema]:
    return Schema.from_dict({"from_": fields.Date(data_key="from"), "to": fields.Date(),
                             "thresholds": fields.Dict(metadata=described(
                                 "The corp's default days of silence: cooling_days, dormant_days, lost_days.")),
                             "rows": fields.List(fields.Nested(rows))}, name=name)


StaffChurnReportSchema = _report("StaffChurnReport", StaffChurnSchema)
ChannelChurnReportSchema = _report("ChannelChurnReport", ChannelChurnSchema)
MonthChurnReportSchema = _report("MonthChurnReport", MonthChurnSchema)


# ---- GET /api/v1/churn/alerts ----------------------------------------------------------------

ALERT_KIND_NOTE = ("customer_deleted: a customer deleted `about_userid` (sent to them and to their manager) | "
                   "dormant: the relation became dormant (the daily digest) | "
                   "anomaly: `about_userid` lost or deleted unusually many customers today (to their manager)")
ALERT_STATUS_NOTE = ("pending: waiting for the sweep (or a retry at `next_attempt_at`) | sending | sent | "
                     "failed: a permanent WeCom error or too many retryable ones (`error`)")
_DAYS = validate.Range(min=date(2000, 1, 1), max=date(2999, 12, 31))


class ChurnAlertArgsSchema(DayRangeArgs):
    """Filters of the alert list; `from` / `to` are corp-local days the alerts were created."""

    from_ = fields.Date(data_key="from", validate=_DAYS, metadata=described(
        "First corp-local day of creation (inclusive), YYYY-MM-DD."))
    to = fields.Date(validate=_DAYS, metadata=described("Last corp-local day of creation (inclusive)."))
    kind = fields.String(validate=validate.OneOf([k.value for k in AlertKind]), metadata=described(ALERT_KIND_NOTE))
    status = fields.String(validate=validate.OneOf([s.value for s in AlertStatus]))
    recipient = fields.String(validate=validate.Length(min=1, max=64), metadata=described("Recipient userid."))
    about = fields.String(validate=validate.Length(min=1, max=64), metadata=described(
        "The member the alert is about (userid)."))


class ChurnAlertSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata=described(ALERT_KIND_NOTE))
    recipient_userid = fields.String()
    about_userid = fields.String()
    external_userid = fields.String(allow_none=True)
    day = fields.Date(allow_none=True, metadata=described("Corp-local day of a digest or an anomaly."))
    data = fields.Dict(allow_none=True, metadata=described(
        "anomaly: direction (deleted_by_customer | deleted_by_staff), count, average (per day, the 30 days "
        "before), threshold."))
    status = fields.String(metadata=described(ALERT_STATUS_NOTE))
    attempts = fields.Integer()
    next_attempt_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    sent_at = UtcDateTime(allow_none=True)
    msgid = fields.String(allow_none=True, metadata=described(
        "message/send's msgid; alerts sent together in one message share it."))
    error = fields.String(allow_none=True)
