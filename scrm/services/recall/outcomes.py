"""Each recall's outcome, set-based: won when the relation re-engaged between the send and the
end of its window (SCRM_RECALL_WINDOW_DAYS), lost once the window passed without it.

Re-engaged means, for the recall's staff member and customer, in [sent_at, window_ends_at]:

* ``reply``: the customer wrote (an archived 1:1 message from the customer to the member, or a
  relation_activity_day row with an inbound message at that time);
* ``follow_up``: the member wrote a follow-up (跟进记录) about the customer;
* ``re_add``: the relation was added again (a customer who had deleted the member re-added them).

One UPDATE for the wins (the first reason that holds, in that order), one INSERT … SELECT putting
them on the customer's timeline (kind ``recall_won``), one UPDATE for the losses. Only recalls
that went out (awaiting the staff member's mass send, or sent) get an outcome.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, and_, case, exists, func, insert, literal, or_, select, update

from scrm.extensions import db
from scrm.models import (
    ArchivedMessage,
    FollowRelation,
    FollowUp,
    Recall,
    RecallOutcome,
    RecallPlaybook,
    RecallStatus,
    RelationActivityDay,
    RelationStatus,
    TimelineEntry,
)
from scrm.services.churn.score import json_pairs

WENT_OUT = (RecallStatus.AWAITING.value, RecallStatus.SENT.value)
BY_LABELS = {"reply": "客户回复", "follow_up": "写了跟进", "re_add": "客户重新添加"}


def _reasons(x, now: datetime):
    """The (reply, follow-up, re-add) conditions of recall ``x`` (a Recall alias or the table)."""
    start, end = x.sent_at, func.coalesce(x.window_ends_at, x.sent_at)
    m, a, f, fr = ArchivedMessage, RelationActivityDay, FollowUp, FollowRelation
    message = exists().where(m.corp_id == x.corp_id, m.from_id == x.external_userid, m.peer_id == x.userid,
                             or_(m.action.is_(None), m.action == "send"),
                             m.msgtime >= start, m.msgtime <= end, m.msgtime <= now)
    activity = exists().where(a.corp_id == x.corp_id, a.relation_id == x.relation_id, a.inbound > 0,
                              a.last_inbound_at >= start, a.last_inbound_at <= end, a.last_inbound_at <= now)
    follow_up = exists().where(f.corp_id == x.corp_id, f.userid == x.userid, f.external_userid == x.external_userid,
                               f.created_at >= start, f.created_at <= end, f.created_at <= now)
    re_add = exists().where(fr.id == x.relation_id, fr.status == RelationStatus.ACTIVE,
                            fr.added_at >= start, fr.added_at <= end, fr.added_at <= now)
    return or_(message, activity), follow_up, re_add


def settle(now: datetime) -> dict[str, int]:
    """Decide the open recalls whose window has started. Commits. Returns {"won", "lost"}."""
    r = Recall
    open_ = and_(r.outcome.is_(None), r.status.in_(WENT_OUT), r.sent_at.is_not(None), r.sent_at <= now)
    reply, follow_up, re_add = _reasons(r, now)
    by = case((reply, "reply"), (follow_up, "follow_up"), (re_add, "re_add"))
    won = db.session.execute(
        update(r).where(open_, or_(reply, follow_up, re_add))
        .values(outcome=RecallOutcome.WON.value, outcome_by=by, outcome_at=now),
        execution_options={"synchronize_session": False}).rowcount
    if won:
        p = RecallPlaybook
        label = case(*((r.outcome_by == key, value) for key, value in BY_LABELS.items()), else_="")
        summary = literal("召回成功「", String) + p.name + literal("」：", String) + label
        data = json_pairs(literal("recall_id"), r.id, literal("playbook_id"), r.playbook_id, literal("by"),
                          r.outcome_by)
        entries = (select(r.corp_id, r.external_userid, r.userid, literal("recall_won", String),
                          literal("job", String), literal(now), literal(now), summary, data)
                   .join(p, p.id == r.playbook_id)
                   .where(r.outcome == RecallOutcome.WON.value, r.outcome_at == now))
        db.session.execute(insert(TimelineEntry).from_select(
            ["corp_id", "external_userid", "userid", "kind", "source", "occurred_at", "recorded_at", "summary",
             "data"], entries, include_defaults=False))
    lost = db.session.execute(
        update(r).where(open_, r.window_ends_at < now)
        .values(outcome=RecallOutcome.LOST.value, outcome_at=now),
        execution_options={"synchronize_session": False}).rowcount
    db.session.commit()
    return {"won": won or 0, "lost": lost or 0}
