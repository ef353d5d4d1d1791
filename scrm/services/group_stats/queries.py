"""The reads behind GET /api/v1/group-stats/*: a page of daily rows and the totals over the
whole filter (flows summed; stocks such as members taken on the last day that has rows)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from scrm.extensions import db
from scrm.models import GroupDailyStat, GroupOwnerDailyStat
from scrm.models.group_stats import GROUP_FLOWS, GROUP_STOCKS, OWNER_FIGURES, OWNER_STOCKS


def _page(model, where: list, order: list, page: int, page_size: int,
          flows: tuple[str, ...], stocks: tuple[str, ...]) -> dict[str, Any]:
    total_rows = db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    rows = list(db.session.scalars(select(model).where(*where).order_by(*order)
                                   .offset((page - 1) * page_size).limit(page_size)))
    sums = db.session.execute(select(*(func.coalesce(func.sum(getattr(model, n)), 0) for n in flows))
                              .where(*where)).one()
    last_day = db.session.scalar(select(func.max(model.day)).where(*where))
    ends = (db.session.execute(select(*(func.coalesce(func.sum(getattr(model, n)), 0) for n in stocks))
                               .where(*where, model.day == last_day)).one()
            if last_day is not None else (0,) * len(stocks))
    totals = {**dict(zip(flows, (int(v) for v in sums), strict=True)),
              **dict(zip(stocks, (int(v) for v in ends), strict=True)), "last_day": last_day}
    return {"page": page, "page_size": page_size, "total_rows": total_rows, "rows": rows, "totals": totals}


def group_rows(corp_id: str, first: date, last: date, *, chat_id: str | None = None,
               owner: str | None = None, page: int = 1, page_size: int = 50) -> dict[str, Any]:
    s = GroupDailyStat
    where = [s.corp_id == corp_id, s.day.between(first, last)]
    if chat_id:
        where.append(s.chat_id == chat_id)
    if owner:
        where.append(s.owner == owner)
    return _page(s, where, [s.day, s.chat_id], page, page_size, GROUP_FLOWS, GROUP_STOCKS)


def owner_rows(corp_id: str, first: date, last: date, *, owner: str | None = None,
               page: int = 1, page_size: int = 50) -> dict[str, Any]:
    s = GroupOwnerDailyStat
    where = [s.corp_id == corp_id, s.day.between(first, last)]
    if owner:
        where.append(s.owner == owner)
    flows = tuple(n for n in OWNER_FIGURES if n not in OWNER_STOCKS)
    return _page(s, where, [s.day, s.owner], page, page_size, flows, OWNER_STOCKS)
