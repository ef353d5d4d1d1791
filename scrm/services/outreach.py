"""Reaching a customer through their staff member: the WeCom side shared by customer SOPs
(scrm/services/sop) and recall playbooks (scrm/services/recall).

* a 1:1 mass-send task for the staff member (`add_msg_template`, chat_type single), which the
  staff member confirms in WeCom, and reading back what became of it (`get_groupmsg_task`, then
  `get_groupmsg_send_result`);
* a `message/send` text card to the staff member linking to the sidebar, within message/send's
  per-member budget (scrm/wecom/ratelimit.py MEMBER_LIMITS);
* the content rendered for one customer (`{nickname}`, `{staff_name}`, media ids kept fresh).

Callers own their rows (tasks, recalls) and transactions; nothing here commits.
"""
from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from scrm.clock import epoch, utcnow
from scrm.extensions import db
from scrm.models import Customer, Staff
from scrm.services.content import render_text, wecom_attachments
from scrm.services.corps import wecom_client
from scrm.wecom import RateLimiter

FIRST_CHECK = timedelta(minutes=10)  # after add_msg_template: give the staff member time to send
MAX_CHECK_INTERVAL = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)  # a mass-send task the staff member never sent
SEND_RESULTS = {1: "sent", 2: "not_friend", 3: "quota_exceeded"}  # get_groupmsg_send_result status
NOT_ACCEPTED = "WeCom did not accept the customer (not a friend, or over the mass-send quota)"


def names(corp_id: str, userid: str, external_userid: str) -> tuple[str | None, str | None]:
    """(the customer's name, the staff member's name)."""
    nickname = db.session.scalar(select(Customer.name).filter_by(corp_id=corp_id, external_userid=external_userid))
    staff_name = db.session.scalar(select(Staff.name).filter_by(corp_id=corp_id, userid=userid))
    return nickname, staff_name


def render(corp_id: str, userid: str, external_userid: str, text: str | None, attachments: list[dict],
           now: datetime) -> dict[str, Any]:
    """The content for add_msg_template: {"text": {"content"}, "attachments": [...]} (either may be
    missing; empty when nothing can be sent)."""
    nickname, staff_name = names(corp_id, userid, external_userid)
    rendered = render_text(text, nickname=nickname, staff_name=staff_name)
    media = wecom_attachments(corp_id, attachments or [], now)
    content: dict[str, Any] = {}
    if rendered:
        content["text"] = {"content": rendered}
    if media.attachments:
        content["attachments"] = media.attachments
    return content


def preview(content: dict[str, Any]) -> str:
    return (content.get("text") or {}).get("content") or f"{len(content.get('attachments') or [])} 个附件"


def create_mass_send(corp_id: str, sender: str, external_userids: list[str], content: dict[str, Any]
                     ) -> tuple[str | None, set[str]]:
    """One 1:1 mass-send task of ``sender`` to the customers. Returns (msgid, customers WeCom
    refused: fail_list). Raises WeComError."""
    reply = wecom_client(corp_id).add_msg_template({
        "chat_type": "single", "external_userid": list(external_userids), "sender": sender,
        "allow_select": False, **content})
    return reply.get("msgid"), set(reply.get("fail_list") or [])


def reminder_allowed(corp_id: str, userid: str, now: datetime | None = None) -> bool:
    """message/send's per-staff budget (scrm/wecom/ratelimit.py MEMBER_LIMITS; WeCom drops the
    rest); shared by SOP, recall and follow-up reminders and churn alerts. Counts this one."""
    limiter = RateLimiter(current_app.extensions["redis"], corp_id)
    return limiter.member_allows("message/send", userid, at=epoch(now or utcnow()))


def card_description(context: str, customer: str, body: str) -> str:
    """A textcard description: textcards take a little HTML, so everything customer- or
    operator-written is escaped here."""
    return (f'<div class="gray">{html.escape(context)}</div>'
            f"<div>客户：{html.escape(customer)}</div>"
            f'<div class="normal">{html.escape(body[:120])}</div>')


def send_card(corp_id: str, userid: str, *, title: str, description: str, url: str, button: str) -> None:
    """A `message/send` text card to staff member ``userid``. Raises WeComError."""
    wecom_client(corp_id).send_app_message(userid, "textcard", {
        "title": title, "description": description, "url": url, "btntxt": button}, enable_duplicate_check=1)


def send_state(corp_id: str, msgid: str, userid: str, external_userid: str) -> tuple[int | None, dict | None]:
    """(the staff member's status on the mass-send task: 2 = sent, the customer's row of
    get_groupmsg_send_result once sent). Raises WeComError (41063: still being dispatched)."""
    client = wecom_client(corp_id)
    staff_status = None
    for item in client.get_groupmsg_task(msgid).get("task_list") or []:
        if item.get("userid") == userid:
            staff_status = item.get("status")
    send = None
    if staff_status == 2:
        for item in client.get_groupmsg_send_result(msgid, userid).get("send_list") or []:
            if item.get("external_userid") == external_userid:
                send = item
    return staff_status, send


def pages(call, key: str) -> list[dict]:
    """Every row of a cursor-paged WeCom list: ``call(cursor)`` until no ``next_cursor``
    (get_groupmsg_task, get_groupmsg_send_result)."""
    rows, cursor = [], None
    while True:
        reply = call(cursor)
        rows += reply.get(key) or []
        cursor = reply.get("next_cursor")
        if not cursor:
            return rows


def next_check(now: datetime, sent_at: datetime | None) -> datetime:
    """When to ask again about a mass-send task not sent yet (the interval grows, at most 6 h)."""
    waited = now - (sent_at or now)
    return now + min(max(FIRST_CHECK, waited), MAX_CHECK_INTERVAL)
