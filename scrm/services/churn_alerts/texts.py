"""The app message one recipient gets for the alerts claimed for them (Simplified Chinese).

One alert of a customer who deleted the recipient → a text card opening that customer in the
sidebar (/sidebar/?customer=…, which keeps a deleted relation's history readable for its member).
Anything else → one text message with a paragraph per part: the recipient's own customers who
deleted them, each team member's customers who deleted that member, the customers who became
dormant, each member's unusual day. Names are the member's remark for the customer, else the
customer's name; at most SCRM_CHURN_ALERT_NAMES per part, then 「等」.

Names are customer-controlled: a text card's description takes a little HTML, so they are
escaped there; a text message renders <a> tags, so their angle brackets become full-width ones.
"""
from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import quote

from sqlalchemy import select

from scrm.config import settings
from scrm.extensions import db
from scrm.models import AlertKind, ChurnAlert, Customer, FollowRelation, RelationStatus, Staff
from scrm.services import localtime

TEXT_LIMIT = 2048  # bytes (message/send text.content; 45002 beyond)
NAME_LIMIT = 20    # characters of one name
TITLE = "【客户流失提醒】"


@dataclass
class Part:
    count: int = 0
    names: list[str] = field(default_factory=list)


def _plain(name: str) -> str:
    name = " ".join(name.split())[:NAME_LIMIT]
    return name.replace("<", "＜").replace(">", "＞")


def _names(part: Part) -> str:
    shown = "、".join(part.names)
    return shown + ("等" if part.count > len(part.names) else "")


def _customer_names(corp_id: str, rows: list[ChurnAlert]) -> dict[tuple[str, str], str]:
    """(about_userid, external_userid) → the member's remark, else the customer's name."""
    pairs = {(r.about_userid, r.external_userid) for r in rows if r.external_userid}
    if not pairs:
        return {}
    externals = {e for _, e in pairs}
    names = dict(db.session.execute(select(Customer.external_userid, Customer.name).where(
        Customer.corp_id == corp_id, Customer.external_userid.in_(externals))).all())
    remarks = {(u, e): remark for u, e, remark in db.session.execute(
        select(FollowRelation.userid, FollowRelation.external_userid, FollowRelation.remark).where(
            FollowRelation.corp_id == corp_id, FollowRelation.external_userid.in_(externals)))}
    return {(u, e): remarks.get((u, e)) or names.get(e) or "未命名客户" for u, e in pairs}


def _staff_names(corp_id: str, userids: set[str]) -> dict[str, str]:
    if not userids:
        return {}
    rows = db.session.execute(select(Staff.userid, Staff.name).where(
        Staff.corp_id == corp_id, Staff.userid.in_(userids))).all()
    found = {userid: name for userid, name in rows if name}
    return {userid: found.get(userid) or userid for userid in userids}


def compose(corp_id: str, recipient: str, rows: list[ChurnAlert]) -> tuple[str, dict]:
    """(msgtype, content) for message/send. ``rows``: the recipient's claimed alerts, oldest first."""
    limit = settings().churn_alert_names
    customers = _customer_names(corp_id, rows)
    if len(rows) == 1 and rows[0].kind == AlertKind.CUSTOMER_DELETED and rows[0].about_userid == recipient:
        return _card(rows[0], customers[(rows[0].about_userid, rows[0].external_userid)])

    own, dormant = Part(), Part()
    team: dict[str, Part] = defaultdict(Part)
    anomalies: list[ChurnAlert] = []
    for row in rows:
        if row.kind == AlertKind.ANOMALY:
            anomalies.append(row)
            continue
        part = dormant if row.kind == AlertKind.DORMANT else own if row.about_userid == recipient \
            else team[row.about_userid]
        name = customers.get((row.about_userid, row.external_userid))
        if name is not None and len(part.names) < limit and _plain(name) not in part.names:
            part.names.append(_plain(name))
        part.count += 1
    staff = _staff_names(corp_id, set(team) | {a.about_userid for a in anomalies})

    paragraphs = []
    if own.count:
        paragraphs.append(f"客户 {own.names[0]} 删除了你。" if own.count == 1 and own.names else
                          f"{own.count} 位客户删除了你：{_names(own)}。")
    for about, part in team.items():
        paragraphs.append(f"{_plain(staff[about])} 的 {part.count} 位客户删除了他/她：{_names(part)}。")
    for row in anomalies:
        data = row.data or {}
        lost = data.get("direction") == RelationStatus.DELETED_BY_CUSTOMER
        what = "位客户删除了他/她" if lost else "位客户被他/她删除"
        paragraphs.append(f"{_plain(staff[row.about_userid])} 今天已有 {data.get('count')} {what}，"
                          f"明显多于平时（近 30 天日均 {data.get('average', 0):g} 位），请关注。")
    if dormant.count:
        paragraphs.append(f"{dormant.count} 位客户昨夜进入沉睡（长时间没有互动）：{_names(dormant)}。"
                          "可在聊天工具栏查看并跟进。")
    return "text", {"content": _fit(TITLE + "\n" + "\n\n".join(paragraphs))}


def _fit(text: str) -> str:
    if len(text.encode()) <= TEXT_LIMIT:
        return text
    cut = text.encode()[:TEXT_LIMIT - 6].decode(errors="ignore")
    return cut + "…"


def _card(row: ChurnAlert, name: str) -> tuple[str, dict]:
    when = localtime.to_local(row.created_at).strftime("%Y-%m-%d %H:%M")
    description = (f'<div class="gray">{when}</div>'
                   f'<div class="normal">客户：{html.escape(" ".join(name.split())[:NAME_LIMIT])}</div>'
                   '<div class="highlight">历史记录和跟进仍可在工具栏查看</div>')
    url = f"{settings().public_url}/sidebar/?customer={quote(row.external_userid or '', safe='')}"
    return "textcard", {"title": "客户删除了你", "description": description, "url": url, "btntxt": "查看客户"}


__all__ = ["compose", "TITLE"]
