"""Reading mass messages: figures per message (recipients by status, tasks by status), its tasks,
its recipients (with the customer's and the sender's names)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from scrm.extensions import db
from scrm.models import Customer, MassMessage, MassMessageRecipient, MassMessageTask, Staff

Rc = MassMessageRecipient


def describe(messages: list[MassMessage]) -> list[dict[str, Any]]:
    ids = [m.id for m in messages]
    by_recipient: dict[int, dict[str, int]] = {i: {} for i in ids}
    by_task: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for message_id, status, count in db.session.execute(select(Rc.mass_message_id, Rc.status, func.count())
                                                             .where(Rc.mass_message_id.in_(ids))
                                                             .group_by(Rc.mass_message_id, Rc.status)):
            by_recipient[message_id][status] = count
        for message_id, status, count in db.session.execute(
                select(MassMessageTask.mass_message_id, MassMessageTask.status, func.count())
                .where(MassMessageTask.mass_message_id.in_(ids))
                .group_by(MassMessageTask.mass_message_id, MassMessageTask.status)):
            by_task[message_id][status] = count
    return [{"id": m.id, "name": m.name, "text": m.text, "attachments": m.attachments, "audience": m.audience,
             "monthly_cap": m.monthly_cap, "status": m.status, "created_by": m.created_by,
             "recipients": m.recipients, "capped": m.capped, "error": m.error, "created_at": m.created_at,
             "built_at": m.built_at, "finished_at": m.finished_at,
             "recipients_by_status": by_recipient[m.id], "tasks_by_status": by_task[m.id]} for m in messages]


def tasks_of(message: MassMessage) -> list[dict[str, Any]]:
    rows = db.session.execute(select(MassMessageTask, Staff.name).outerjoin(Staff, (
        Staff.corp_id == MassMessageTask.corp_id) & (Staff.userid == MassMessageTask.sender))
        .where(MassMessageTask.mass_message_id == message.id).order_by(MassMessageTask.sender, MassMessageTask.chunk))
    return [{"id": t.id, "sender": t.sender, "sender_name": name, "chunk": t.chunk, "recipients": t.recipients,
             "status": t.status, "attempts": t.attempts, "msgid": t.msgid, "error": t.error,
             "created_at": t.created_at, "sent_at": t.sent_at, "finished_at": t.finished_at} for t, name in rows]


def recipients_query(message: MassMessage, status: str | None = None) -> Select:
    """Rows (recipient, customer name, sender name) ordered by customer."""
    query = (select(Rc.external_userid, Rc.sender, Rc.status, Rc.sent_at, Customer.name.label("name"),
                    Staff.name.label("sender_name"))
             .outerjoin(Customer, (Customer.corp_id == Rc.corp_id) & (Customer.external_userid == Rc.external_userid))
             .outerjoin(Staff, (Staff.corp_id == Rc.corp_id) & (Staff.userid == Rc.sender))
             .where(Rc.mass_message_id == message.id))
    if status:
        query = query.where(Rc.status == status)
    return query.order_by(Rc.external_userid)
