"""Interaction signals per relation and corp-local day (relation_activity_day), in set-based SQL.

What counts as an interaction between a staff member and a customer, as far as we can see it:

* archived 1:1 messages (会话内容存档, when the corp has it and a source is plugged in): a message
  from the customer to the member is inbound, the other way outbound; the pair is (from_id,
  peer_id) and must be a follow relation we know (recalled and group messages do not count);
* follow-ups (跟进记录) the member wrote about the customer;
* SOP steps confirmed sent to the customer: a mass-send task WeCom reports sent, or a reminder
  whose content the member sent from the sidebar.

Deletions are signals too but need no table: the customer deleting the member
(`del_follow_user`) and the member deleting the customer (not a transfer) are the relation's
status (scrm/services/events/customers.py), read by the scoring. Group presence (the customer is
in a group the member owns) is read from group_member by the scoring as well.

`collect(corp_id, first, last)` replaces the rows of local days first..last (delete, then one
INSERT … SELECT per chunk of days); the nightly run collects the last two days (late archive
pulls), `flask scrm churn rebuild` any range.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import DateTime, Integer, String, and_, case, delete, func, insert, literal, or_, select, union_all

from scrm.extensions import db
from scrm.models import ArchivedMessage, FollowRelation, FollowUp, RelationActivityDay, SopTask
from scrm.services.group_stats.aggregate import _day_table, _spans, local_midnight

CHUNK_DAYS = 31


def _events(corp_id: str, start: datetime, end: datetime):
    """(relation_id, userid, external_userid, at, inbound, outbound, follow_up, sop_send) per interaction."""
    m, fr, f, t = ArchivedMessage, FollowRelation, FollowUp, SopTask
    one, zero = literal(1, Integer), literal(0, Integer)
    sent = or_(m.action.is_(None), m.action == "send")
    in_window = and_(m.corp_id == corp_id, m.msgtime >= start, m.msgtime < end, m.peer_id.is_not(None), sent)
    keys = (fr.id.label("relation_id"), fr.userid, fr.external_userid)
    outbound = (select(*keys, m.msgtime.label("at"), zero.label("inbound"),
                       one.label("outbound"), zero.label("follow_up"), zero.label("sop_send"))
                .select_from(m).join(fr, and_(fr.corp_id == m.corp_id, fr.userid == m.from_id,
                                              fr.external_userid == m.peer_id))
                .where(in_window))
    inbound = (select(*keys, m.msgtime, one, zero, zero, zero)
               .select_from(m).join(fr, and_(fr.corp_id == m.corp_id, fr.external_userid == m.from_id,
                                             fr.userid == m.peer_id))
               .where(in_window))

    def of_relation(model):
        return and_(fr.corp_id == model.corp_id, fr.userid == model.userid,
                    fr.external_userid == model.external_userid)

    follow_ups = (select(*keys, f.created_at, zero, zero, one, zero).select_from(f).join(fr, of_relation(f))
                  .where(f.corp_id == corp_id, f.created_at >= start, f.created_at < end))
    mass_sent = (select(*keys, t.sent_at, zero, zero, zero, one).select_from(t).join(fr, of_relation(t))
                 .where(t.corp_id == corp_id, t.delivery == "mass_send", t.status == "sent",
                        t.sent_at >= start, t.sent_at < end))
    sidebar_sent = (select(*keys, t.sent_from_sidebar_at, zero, zero, zero, one).select_from(t)
                    .join(fr, of_relation(t))
                    .where(t.corp_id == corp_id, t.sent_from_sidebar_at >= start, t.sent_from_sidebar_at < end))
    return union_all(outbound, inbound, follow_ups, mass_sent, sidebar_sent).subquery("events")


def _insert(corp_id: str, first: date, last: date):
    days = _day_table([(d, d) for d in _dates(first, last)])
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    e = _events(corp_id, start, end)
    query = (select(literal(corp_id, String).label("corp_id"), days.c.day, e.c.relation_id, e.c.userid,
                    e.c.external_userid,
                    func.sum(e.c.inbound), func.sum(e.c.outbound), func.sum(e.c.follow_up),
                    func.sum(e.c.sop_send),
                    func.max(case((e.c.inbound == 1, e.c.at), else_=literal(None, DateTime))),
                    func.max(e.c.at))
             .select_from(days)
             .join(e, and_(e.c.at >= days.c.start_at, e.c.at < days.c.end_at))
             .group_by(days.c.day, e.c.relation_id, e.c.userid, e.c.external_userid))
    columns = ["corp_id", "day", "relation_id", "userid", "external_userid", "inbound", "outbound", "follow_ups",
               "sop_sends", "last_inbound_at", "last_at"]
    return insert(RelationActivityDay).from_select(columns, query, include_defaults=False)


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def collect(corp_id: str, first: date, last: date) -> int:
    """Rebuild the activity rows of local days first..last. Returns rows written; the caller commits."""
    if last < first:
        raise ValueError("the last day is before the first")
    for chunk_first, chunk_last in _spans(first, last, CHUNK_DAYS):
        db.session.execute(delete(RelationActivityDay).where(
            RelationActivityDay.corp_id == corp_id, RelationActivityDay.day.between(chunk_first, chunk_last)),
            execution_options={"synchronize_session": False})
        db.session.execute(_insert(corp_id, chunk_first, chunk_last))
    return db.session.scalar(select(func.count()).select_from(RelationActivityDay).where(
        RelationActivityDay.corp_id == corp_id, RelationActivityDay.day.between(first, last))) or 0
