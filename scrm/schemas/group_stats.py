"""Open API v1: group analytics (GET /api/v1/group-stats/*)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from scrm.models.group_stats import GROUP_FLOWS, GROUP_STOCKS, OWNER_FIGURES
from scrm.schemas.common import UtcDateTime, described

MAX_RANGE_DAYS = 366
MAX_PAGE_SIZE = 200
RANGE_NOTE = (f"Corp-local dates YYYY-MM-DD, `from` ≤ `to`, at most {MAX_RANGE_DAYS} days; "
              "default: the 30 days up to yesterday.")


class DayRangeArgs(Schema):
    from_ = fields.Date(data_key="from", metadata=described("First day (inclusive). " + RANGE_NOTE))
    to = fields.Date(metadata=described("Last day (inclusive)."))

    @validates_schema
    def check_range(self, data: dict[str, Any], **_: Any) -> None:
        first, last = data.get("from_"), data.get("to")
        if first and last:
            if first > last:
                raise ValidationError({"from": ["Must not be after `to`."]})
            if (last - first).days + 1 > MAX_RANGE_DAYS:
                raise ValidationError({"to": [f"The range must not exceed {MAX_RANGE_DAYS} days."]})


class _Paged(DayRangeArgs):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class GroupStatsArgsSchema(_Paged):
    chat_id = fields.String(validate=validate.Length(min=1, max=64))
    owner = fields.String(validate=validate.Length(min=1, max=64), metadata=described("Owner userid."))


class OwnerStatsArgsSchema(_Paged):
    owner = fields.String(validate=validate.Length(min=1, max=64), metadata=described("Owner userid."))


class RetentionArgsSchema(DayRangeArgs):
    chat_id = fields.String(validate=validate.Length(min=1, max=64))
    owner = fields.String(validate=validate.Length(min=1, max=64))


def _counts(names: tuple[str, ...]) -> dict[str, fields.Field]:
    return {name: fields.Integer() for name in names}


GroupDayRowSchema = Schema.from_dict({
    "day": fields.Date(), "chat_id": fields.String(),
    "owner": fields.String(allow_none=True, metadata=described("The group's owner when computed.")),
    **_counts(GROUP_STOCKS + GROUP_FLOWS), "computed_at": UtcDateTime()}, name="GroupDayRow")
GroupTotalsSchema = Schema.from_dict({**_counts(GROUP_FLOWS + GROUP_STOCKS), "last_day": fields.Date(
    allow_none=True, metadata=described("The day the stocks (members, customers, staff) are taken from."))},
    name="GroupTotals")
OwnerDayRowSchema = Schema.from_dict({"day": fields.Date(), "owner": fields.String(),
                                      **_counts(OWNER_FIGURES), "pulled_at": UtcDateTime()}, name="OwnerDayRow")
OwnerTotalsSchema = Schema.from_dict({**_counts(OWNER_FIGURES), "last_day": fields.Date(allow_none=True)},
                                     name="OwnerTotals")


class _PageSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    page = fields.Integer()
    page_size = fields.Integer()
    total_rows = fields.Integer()


class GroupStatsSchema(_PageSchema):
    rows = fields.List(fields.Nested(GroupDayRowSchema), metadata=described(
        "One row per group and corp-local day, ordered by day then chat_id: members at the end of "
        "the day; joins by scene (invite 1, link 2, QR code 3) and through our group codes; leaves "
        "(self 0, removed 1)."))
    totals = fields.Nested(GroupTotalsSchema, metadata=described(
        "Over every row of the filter: joins and leaves summed, members/customers/staff on the last day."))


class OwnerStatsSchema(_PageSchema):
    rows = fields.List(fields.Nested(OwnerDayRowSchema), metadata=described(
        "WeCom's figures (groupchat/statistic) per owner and day (China Standard Time days)."))
    totals = fields.Nested(OwnerTotalsSchema, metadata=described(
        "new_* and *_has_msg and msg_total summed; chat_total and member_total on the last day."))


class RetentionWeekSchema(Schema):
    week_start = fields.Date()
    week_end = fields.Date()
    joined = fields.Integer(metadata=described("Customers (type 2) who joined a group in the week."))
    matured = fields.Integer(metadata=described("Of those, the ones whose 7th day after joining is over."))
    retained = fields.Integer(metadata=described("Of the matured, still in the group 7 days after joining."))
    left_within_7_days = fields.Integer()
    retention_rate = fields.Float(allow_none=True, metadata=described("retained / matured; null if none matured."))


class RetentionSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    weeks = fields.List(fields.Nested(RetentionWeekSchema), metadata=described(
        "Monday-to-Sunday weeks (corp-local), clipped to the range."))
