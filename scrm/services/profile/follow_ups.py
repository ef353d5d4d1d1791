"""Follow-ups (跟进记录): the sidebar's list and form, and the reminders of a next follow-up
(the `follow-up-reminders` sweep)."""
from __future__ import annotations

import functools
import html
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update

from scrm.clock import iso_z, utcnow
from scrm.config import settings
from scrm.extensions import core_execute, db
from scrm.models import Customer, FollowUp
from scrm.services import access, sop, timeline
from scrm.services.corps import wecom_client
from scrm.services.profile.common import check_reader, staff_names, staff_names_left
from scrm.services.validation import raise_if
from scrm.wecom import WeComError

FOLLOW_UP_KINDS = {"chat": "聊天", "call": "电话", "visit": "拜访", "note": "备注"}
FOLLOW_UP_MAX = 2000


def follow_up_view(row: Any, names: dict[str, str | None], left: dict | None = None) -> dict[str, Any]:
    """``row``: a FollowUp or a follow_up_rows() row. ``left``: who of the authors left the corp
    (staff_names_left; their follow-ups stay, marked 已离职)."""
    return {"id": row.id, "userid": row.userid, "staff_name": names.get(row.userid),
            "staff_left": row.userid in (left or {}), "kind": row.kind,
            "kind_label": FOLLOW_UP_KINDS.get(row.kind, row.kind), "content": row.content,
            "next_at": row.next_at, "reminder_status": row.reminder_status, "created_at": row.created_at,
            "external_userid": row.external_userid}


@functools.cache
def _rows_query() -> Select:
    # Built once (the profile reads the latest on every view), bound per call; the columns
    # follow_up_view shows, not ORM objects.
    return (select(FollowUp.id, FollowUp.userid, FollowUp.kind, FollowUp.content, FollowUp.next_at,
                   FollowUp.reminder_status, FollowUp.created_at, FollowUp.external_userid)
            .where(FollowUp.corp_id == bindparam("corp_id"), FollowUp.external_userid == bindparam("external_userid"))
            .order_by(FollowUp.created_at.desc(), FollowUp.id.desc())
            .offset(bindparam("offset")).limit(bindparam("limit")))


# The profile's latest follow-ups (in one batch with its other reads, reads.py): no parameters of
# their own, since the batch's other reads share its parameter names.
LATEST = 5
latest_query = functools.cache(lambda: _rows_query().offset(None).limit(LATEST))


def follow_up_rows(corp_id: str, external_userid: str, offset: int, limit: int) -> list[Any]:
    """Rows with follow_up_view's columns, newest first."""
    return core_execute(_rows_query(), {"corp_id": corp_id, "external_userid": external_userid,
                                        "offset": offset, "limit": limit}).all()


def follow_ups(corp_id: str, external_userid: str, *, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """A page of the customer's follow-ups, newest first, with the total."""
    rows = follow_up_rows(corp_id, external_userid, (page - 1) * page_size, page_size)
    total = db.session.scalar(select(func.count()).select_from(FollowUp).filter_by(
        corp_id=corp_id, external_userid=external_userid))
    authors = {r.userid for r in rows}
    names, left = staff_names_left(corp_id, authors)
    return {"items": [follow_up_view(r, names, left) for r in rows], "total": total, "page": page,
            "page_size": page_size}


def add_follow_up(corp_id: str, userid: str, external_userid: str, kind: str, content: str,
                  next_at: datetime | None, *, ip: str | None = None) -> dict[str, Any]:
    """``next_at``: naive UTC. The follow-up is on the timeline; a next time is reminded when due.
    A staff member the customer deleted may still write one (a call to win them back)."""
    check_reader(corp_id, userid, external_userid)
    errors: dict[str, list[str]] = {}
    if kind not in FOLLOW_UP_KINDS:
        errors["kind"] = ["跟进方式应为 聊天/电话/拜访/备注 之一"]
    content = (content or "").strip()
    if not content:
        errors["content"] = ["请填写跟进内容"]
    elif len(content) > FOLLOW_UP_MAX:
        errors["content"] = [f"最多 {FOLLOW_UP_MAX} 个字"]
    now = utcnow()
    if next_at is not None and next_at <= now:
        errors["next_at"] = ["下次跟进时间应晚于现在"]
    elif next_at is not None and next_at > now + timedelta(days=366):
        errors["next_at"] = ["下次跟进时间应在一年以内"]
    raise_if(errors)
    row = FollowUp(corp_id=corp_id, userid=userid, external_userid=external_userid, kind=kind,
                   content=content, next_at=next_at, reminder_status="pending" if next_at else "none",
                   created_at=now, updated_at=now)
    db.session.add(row)
    db.session.flush()
    timeline.record(corp_id, external_userid, "follow_up", source="sidebar", userid=userid, occurred_at=now,
                    summary=f"{FOLLOW_UP_KINDS[kind]}：{content[:80]}",
                    data={"follow_up_id": row.id, "kind": kind,
                          "next_at": iso_z(next_at)})
    access.audit(corp_id, userid, "follow_up", "customer", external_userid, detail={"follow_up_id": row.id}, ip=ip)
    db.session.commit()
    return follow_up_view(row, staff_names(corp_id, {userid}))


# ---- follow-up reminders (the `follow-up-reminders` sweep) -----------------------------------

def remind_due_follow_ups(now: datetime | None = None, limit: int = 500) -> int:
    """Send each due next follow-up to its staff member as a message/send text card linking to
    the customer's sidebar view. Once each: claimed by an UPDATE; a retryable WeCom error (or the
    per-staff message/send budget) leaves it for the next sweep, a permanent one is recorded."""
    now = now or utcnow()
    due = list(db.session.scalars(select(FollowUp).where(
        FollowUp.reminder_status == "pending", FollowUp.next_at <= now).order_by(FollowUp.next_at).limit(limit)))
    sent = 0
    for row in due:
        claimed = db.session.execute(update(FollowUp).where(
            FollowUp.id == row.id, FollowUp.reminder_status == "pending").values(reminder_status="sending"))
        db.session.commit()
        if claimed.rowcount != 1:
            continue
        recipient = row.assignee_userid or row.userid  # the successor once the customer was handed over
        if not sop.reminder_allowed(row.corp_id, recipient):
            row.reminder_status = "pending"
            db.session.commit()
            continue
        name = db.session.scalar(select(Customer.name).filter_by(
            corp_id=row.corp_id, external_userid=row.external_userid)) or row.external_userid
        url = f"{settings().public_url}/sidebar/?customer={row.external_userid}"
        description = (f'<div class="gray">{FOLLOW_UP_KINDS.get(row.kind, row.kind)} · 客户：{html.escape(name)}</div>'
                       f'<div class="normal">{html.escape(row.content[:120])}</div>')
        try:
            wecom_client(row.corp_id).send_app_message(recipient, "textcard", {
                "title": "跟进提醒：该联系客户了", "description": description, "url": url, "btntxt": "查看客户"},
                enable_duplicate_check=1)
        except WeComError as exc:
            row.reminder_status = "pending" if exc.retryable else "failed"
            row.reminder_error = str(exc)
            db.session.commit()
            continue
        row.reminder_status, row.reminded_at, row.reminder_error = "sent", utcnow(), None
        db.session.commit()
        sent += 1
    return sent
