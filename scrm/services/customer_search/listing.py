"""The customer list (客户列表): one page of matching relations in one statement (plus one for
the page's tags), and a count that is exact up to COUNT_CAP and "COUNT_CAP+" beyond: counting
every row of a million-customer corp on each page view costs more than it tells anyone."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import and_, func, select

from scrm.extensions import db
from scrm.models import (
    Channel,
    Customer,
    CustomerStage,
    FollowRelation,
    FunnelStage,
    RelationRisk,
    RelationTag,
    Staff,
    Tag,
    TagGroup,
)
from scrm.services.customer_search.filters import FR, S, relation_conditions

COUNT_CAP = 10_000
MAX_ROWS = 10_000  # how deep the pages go (page × page_size): past it, narrow the filters


class TooDeep(ValueError):
    """A page beyond MAX_ROWS."""


def count(corp_id: str, filters: dict[str, Any], visible_userids: Collection[str] | None = None,
          cap: int | None = COUNT_CAP) -> tuple[int, bool]:
    """(matching relations, whether there are more than ``cap``); ``cap=None`` counts them all."""
    ids = select(S.relation_id).where(*relation_conditions(corp_id, filters, visible_userids))
    if cap is None:
        return db.session.scalar(select(func.count()).select_from(ids.subquery())), False
    total = db.session.scalar(select(func.count()).select_from(ids.limit(cap + 1).subquery()))
    return min(total, cap), total > cap


def count_customers(corp_id: str, filters: dict[str, Any], visible_userids: Collection[str] | None = None) -> int:
    """Distinct customers among the matching relations (exact)."""
    ids = select(S.external_userid).where(*relation_conditions(corp_id, filters, visible_userids)).distinct()
    return db.session.scalar(select(func.count()).select_from(ids.subquery()))


def page(corp_id: str, filters: dict[str, Any], *, sort: str = "-added_at", page: int = 1, page_size: int = 20,
         visible_userids: Collection[str] | None = None, with_total: bool = True) -> dict[str, Any]:
    """One page; ``with_total=False`` skips the count (paging on through a result already counted)."""
    if page * page_size > MAX_ROWS:
        raise TooDeep(f"Only the first {MAX_ROWS} rows can be paged through: narrow the filters.")
    # The page's relations from the search rows alone, then the display joins for those 20.
    order = _order(sort)
    found = (select(S.relation_id, S.added_at, S.last_interaction_at)
             .where(*relation_conditions(corp_id, filters, visible_userids))
             .order_by(*order(S)).offset((page - 1) * page_size).limit(page_size).subquery("found"))
    channel_name = (select(Channel.name).where(Channel.corp_id == corp_id, Channel.state == FR.state)
                    .order_by(Channel.status, Channel.id.desc()).limit(1).scalar_subquery())
    query = (
        select(FR.id.label("relation_id"), FR.external_userid, FR.userid, FR.remark, FR.state, FR.status,
               FR.added_at, Customer.name, Customer.avatar, Customer.type, Customer.corp_name,
               Staff.name.label("staff_name"), CustomerStage.stage_id, FunnelStage.name.label("stage_name"),
               RelationRisk.level.label("risk_level"), RelationRisk.last_interaction_at,
               channel_name.label("channel_name"))
        .select_from(found)
        .join(FollowRelation.__table__, FR.id == found.c.relation_id)
        .outerjoin(Customer, and_(Customer.corp_id == corp_id, Customer.external_userid == FR.external_userid))
        .outerjoin(Staff, and_(Staff.corp_id == corp_id, Staff.userid == FR.userid))
        .outerjoin(CustomerStage, and_(CustomerStage.corp_id == corp_id,
                                       CustomerStage.external_userid == FR.external_userid))
        .outerjoin(FunnelStage, FunnelStage.id == CustomerStage.stage_id)
        .outerjoin(RelationRisk, RelationRisk.relation_id == FR.id)
        .order_by(*order(found.c)))
    rows = [dict(row._mapping) for row in db.session.execute(query)]
    tags = relation_tags(corp_id, rows)
    for row in rows:
        row["tags"] = tags[(row["userid"], row["external_userid"])]
    total, capped = count(corp_id, filters, visible_userids, cap=COUNT_CAP) if with_total else (None, None)
    return {"items": rows, "total": total, "total_capped": capped, "count_cap": COUNT_CAP,
            "page": page, "page_size": page_size}


def _order(sort: str):
    """The ORDER BY for ``sort`` on a column collection (the search rows, or the page's subquery)."""
    name = "added_at" if sort.lstrip("-") == "added_at" else "last_interaction_at"
    if sort.startswith("-"):
        return lambda c: [c[name].desc().nulls_last(), c.relation_id.desc()]
    return lambda c: [c[name].asc().nulls_last(), c.relation_id]


def relation_tags(corp_id: str, rows: list[dict[str, Any]]) -> defaultdict[tuple[str, str], list[dict]]:
    tags: defaultdict[tuple[str, str], list[dict]] = defaultdict(list)
    if not rows:
        return tags
    wanted = {(r["userid"], r["external_userid"]) for r in rows}
    found = db.session.execute(
        select(RelationTag.userid, RelationTag.external_userid, RelationTag.tag_id, RelationTag.tag_name,
               RelationTag.group_name, Tag.name, TagGroup.name)
        .outerjoin(Tag, and_(Tag.corp_id == RelationTag.corp_id, Tag.tag_id == RelationTag.tag_id))
        .outerjoin(TagGroup, and_(TagGroup.corp_id == Tag.corp_id, TagGroup.group_id == Tag.group_id))
        .where(RelationTag.corp_id == corp_id, RelationTag.tag_id.is_not(None),
               # both columns of the unique (corp, userid, customer, tag_key) index: a few index probes
               RelationTag.userid.in_(sorted({u for u, _ in wanted})),
               RelationTag.external_userid.in_(sorted({e for _, e in wanted})))
        .order_by(RelationTag.id))
    for userid, external_userid, tag_id, tag_name, group_name, library_name, library_group in found:
        if (userid, external_userid) in wanted:
            tags[(userid, external_userid)].append({"tag_id": tag_id, "name": library_name or tag_name,
                                                    "group_name": library_group or group_name})
    return tags
