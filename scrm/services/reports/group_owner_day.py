"""The groups report's owner roll-up (group_owner_daily_rollup): issue #12's group_daily_stat
(one row per group and day) summed per corp-local day and group owner by one INSERT … SELECT per
chunk of days, after deleting the chunk's rows — idempotent. A year of a whole corp is then one
row per owner and day instead of one per group and day.

group_daily_stat is rebuilt by the group statistics' own nightly run (its last 2 days, before
SCRM_REPORTS_AT); the reports' nightly run rebuilds the last 3, so the roll-up follows. After
`flask scrm group-stats rebuild` of older days, run `flask scrm reports rebuild` over them too.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import DateTime, String, case, delete, func, insert, literal, literal_column, select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import GroupDailyStat, GroupOwnerDailyRollup
from scrm.models.group_stats import GROUP_FLOWS, GROUP_STOCKS
from scrm.services.group_stats.aggregate import CHUNK_DAYS, _spans


def build(corp_id: str, first: date, last: date, *, incremental: bool) -> int:  # noqa: ARG001 - same either way
    """Rows of local days first..last from group_daily_stat; returns the rows written. The caller commits."""
    r, s = GroupOwnerDailyRollup, GroupDailyStat
    owner = func.coalesce(s.owner, literal_column("''"))
    for chunk_first, chunk_last in _spans(first, last, CHUNK_DAYS):
        db.session.execute(delete(r).where(r.corp_id == corp_id, r.day.between(chunk_first, chunk_last)))
        query = (select(literal(corp_id, String).label("corp_id"), s.day, owner.label("owner"),
                        func.sum(case((s.members > 0, 1), else_=0)).label("groups"),
                        *(func.sum(getattr(s, n)).label(n) for n in (*GROUP_STOCKS, *GROUP_FLOWS)),
                        literal(utcnow(), DateTime).label("computed_at"))
                 .where(s.corp_id == corp_id, s.day.between(chunk_first, chunk_last))
                 .group_by(s.day, owner))
        columns = ["corp_id", "day", "owner", "groups", *GROUP_STOCKS, *GROUP_FLOWS, "computed_at"]
        db.session.execute(insert(r).from_select(columns, query))
    return db.session.scalar(select(func.count()).select_from(r).where(
        r.corp_id == corp_id, r.day.between(first, last))) or 0
