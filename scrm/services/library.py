"""The content library (话术 and 素材) and SOP reminder tasks, as the chat sidebar sends them.

* Items are kept in the saved form of scrm/services/content.py (a body per kind, media by
  MediaAsset id) and turned into ``ww.sendChatMessage`` arguments when listed, with the asset's
  current media_id: an item whose media is missing or expired is listed as not sendable
  (``message`` null) rather than failing the list. Mini-program covers must be http(s) URLs for
  the JS-SDK: they are served from a signed, unguessable ``/sidebar/media/<token>`` URL.
* Sidebar order: most used first (``use_count`` desc), then oldest first (``id``): stable across pages.
* Search (``q``): case-insensitive substring of the title, keywords, text content or link
  description (JSON values extracted in SQL: SQLite JSON_EXTRACT, PostgreSQL ->>).
* A send is counted with one atomic UPDATE (use_count + 1), audited, and put on the customer's
  timeline when the staff member may see that customer.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import Select, bindparam, func, or_, select, update

from scrm.clock import iso_z, utcnow
from scrm.config import settings
from scrm.extensions import core_execute, db
from scrm.models import (
    ContentItem,
    Customer,
    GroupSop,
    GroupSopStatus,
    GroupSopStep,
    MediaAsset,
    PlaybookStatus,
    RecallPlaybook,
    Sop,
    SopStatus,
    SopStep,
    SopTask,
    Staff,
    TaskStatus,
)
from scrm.schemas.library import body_errors
from scrm.services import access, policy, timeline
from scrm.services.content import render_text, validate_attachments, wecom_attachments
from scrm.services.sop import task_names
from scrm.services.validation import raise_if

MEDIA_MSGTYPES = ("image", "video", "file")
PREVIEW_CHARS = 80
KIND_LABELS = {"text": "话术", "image": "图片", "link": "链接", "miniprogram": "小程序"}


# ---- operator CRUD (Open API) ------------------------------------------------------------------

def _check(corp_id: str, kind: str, body: dict) -> None:
    """The checks that need the database: the media exists in the corp and is an image."""
    if kind in ("image", "miniprogram"):
        errors = validate_attachments(corp_id, [{"msgtype": kind, "media": body.get("media")}])
        raise_if({"body.media": errors["attachments.0.media"]} if errors else {})


def create(corp_id: str, data: dict[str, Any]) -> ContentItem:
    _check(corp_id, data["kind"], data["body"])
    item = ContentItem(corp_id=corp_id, kind=data["kind"], title=data["title"], body=data["body"],
                       category=data.get("category") or "默认", keywords=data.get("keywords"), use_count=0)
    db.session.add(item)
    db.session.commit()
    return item


def update_item(item: ContentItem, data: dict[str, Any]) -> ContentItem:
    """Only the fields given change; a body is checked against the (new or current) kind."""
    if "body" in data:
        kind = data.get("kind", item.kind)
        errors = body_errors(kind, data["body"])
        raise_if({"body": errors} if errors else {})
        _check(item.corp_id, kind, data["body"])
    for key in ("kind", "title", "category", "keywords", "body"):
        if key in data:
            setattr(item, key, data[key])
    db.session.commit()
    return item


def delete(item: ContentItem) -> None:
    item.deleted = True
    db.session.commit()


def get(corp_id: str, item_id: int) -> ContentItem | None:
    item = db.session.get(ContentItem, item_id)
    return item if item and item.corp_id == corp_id and not item.deleted else None


def search(corp_id: str, q: str | None = None, category: str | None = None, kind: str | None = None) -> Select:
    """Items of the corp matching the filters, most used first (then by id: stable)."""
    query = select(ContentItem).where(ContentItem.corp_id == corp_id, ContentItem.deleted.is_(False))
    if q:
        query = query.where(or_(*(column.icontains(q, autoescape=True) for column in (
            ContentItem.title, ContentItem.keywords, ContentItem.body["content"].as_string(),
            ContentItem.body["desc"].as_string()))))
    if kind:
        query = query.where(ContentItem.kind == kind)
    if category:
        query = query.where(ContentItem.category == category)
    return query.order_by(ContentItem.use_count.desc(), ContentItem.id)


def categories(corp_id: str, q: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """Category names with their item counts (under the q/kind filters), by name."""
    items = search(corp_id, q, None, kind).order_by(None).subquery()
    rows = db.session.execute(select(items.c.category, func.count()).group_by(items.c.category)
                              .order_by(items.c.category))
    return [{"name": name, "count": count} for name, count in rows]


# ---- sendChatMessage arguments -----------------------------------------------------------------

class _ClockSigner(TimestampSigner):
    """Tokens dated by scrm.clock (tests freeze it)."""

    def get_timestamp(self) -> int:
        return int(utcnow().replace(tzinfo=UTC).timestamp())


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings().secret_key, salt="sidebar-media", signer=_ClockSigner)


def media_url(asset_id: int, owner: tuple[str, int]) -> str:
    """A public, unguessable URL of an image asset (mini-program covers: the JS-SDK wants a URL),
    for ``owner``: ("content", item id), ("sop_step", step id), ("group_sop_step", step id) or
    ("recall_playbook", playbook id), the
    item that sends it. It works for SCRM_MEDIA_URL_MAX_AGE_DAYS, and only while the owner exists
    and still sends that image."""
    return f"{settings().public_url}/sidebar/media/{_signer().dumps([asset_id, *owner])}"


def _still_sends(corp_id: str, kind: str, owner_id: int, asset_id: int) -> bool:
    """Whether the owner of a media_url still exists (not deleted) and still sends this cover."""
    if kind == "content":
        item = db.session.get(ContentItem, owner_id)
        return (item is not None and item.corp_id == corp_id and not item.deleted and item.kind == "miniprogram"
                and (item.body or {}).get("media") == asset_id)
    if kind == "sop_step":
        step = db.session.get(SopStep, owner_id)
        if step is None or step.corp_id != corp_id or step.deleted:
            return False
        return db.session.get(Sop, step.sop_id).status != SopStatus.DELETED and _sends_cover(step, asset_id)
    if kind == "group_sop_step":
        step = db.session.get(GroupSopStep, owner_id)
        if step is None or step.corp_id != corp_id or step.deleted:
            return False
        return db.session.get(GroupSop, step.plan_id).status != GroupSopStatus.DELETED and _sends_cover(step, asset_id)
    if kind == "recall_playbook":
        playbook = db.session.get(RecallPlaybook, owner_id)
        return (playbook is not None and playbook.corp_id == corp_id and playbook.status != PlaybookStatus.DELETED
                and _sends_cover(playbook, asset_id))
    return False


def _sends_cover(step: SopStep | GroupSopStep | RecallPlaybook, asset_id: int) -> bool:
    return any(a.get("msgtype") == "miniprogram" and a.get("media") == asset_id for a in step.attachments or [])


def media_asset(token: str) -> MediaAsset | None:
    """The image behind a media_url token, while the token is fresh and its owner still sends it."""
    try:
        asset_id, kind, owner_id = _signer().loads(token, max_age=int(settings().media_url_max_age.total_seconds()))
    except (BadSignature, TypeError, ValueError):  # forged, expired, or not the shape we sign
        return None
    if not isinstance(asset_id, int) or not isinstance(owner_id, int):
        return None
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None or asset.kind != "image" or not _still_sends(asset.corp_id, kind, owner_id, asset_id):
        return None
    return asset


def chat_messages(corp_id: str, attachments: Iterable[dict], now: datetime,
                  owners: Iterable[tuple[str, int]]) -> list[dict | None]:
    """Saved attachments (scrm/services/content.py form) as sendChatMessage arguments, in order;
    None where one cannot be sent (media missing or expired, an image given by pic_url).
    ``owners``: each attachment's item (media_url)."""
    attachments, owners = list(attachments), list(owners)
    media = [a for a in attachments if a["msgtype"] in MEDIA_MSGTYPES and a.get("media") is not None]
    ready = wecom_attachments(corp_id, media, now)  # the current media_ids (expired ones dropped)
    dropped = {id(a) for a in ready.dropped}
    sent = iter(ready.attachments)
    media_ids = {id(a): next(sent)[a["msgtype"]]["media_id"] for a in media if id(a) not in dropped}
    covers = {a["media"] for a in attachments if a["msgtype"] == "miniprogram"}
    covers = set(db.session.scalars(select(MediaAsset.id).where(
        MediaAsset.corp_id == corp_id, MediaAsset.id.in_(covers), MediaAsset.kind == "image"))) if covers else set()
    out: list[dict | None] = []
    for a, owner in zip(attachments, owners, strict=True):
        kind = a["msgtype"]
        if kind == "link":
            out.append({"msgtype": "news", "news": {"link": a["url"], "title": a["title"], "desc": a.get("desc") or "",
                                                    "imgUrl": a.get("picurl") or ""}})
        elif kind == "miniprogram":
            out.append({"msgtype": "miniprogram", "miniprogram": {
                "appid": a["appid"], "title": a["title"], "imgUrl": media_url(a["media"], owner), "page": a["page"]}}
                if a["media"] in covers else None)
        else:
            media_id = media_ids.get(id(a))
            out.append({"msgtype": kind, kind: {"mediaId": media_id}} if media_id else None)
    return out


def _staff_name(corp_id: str, userid: str) -> str | None:
    return db.session.scalar(select(Staff.name).filter_by(corp_id=corp_id, userid=userid))


def sidebar_items(corp_id: str, userid: str, items: list[ContentItem], external_userid: str | None,
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """The sidebar's list entries; placeholders rendered for ``external_userid`` when this staff
    member may see that customer (otherwise ``{nickname}`` renders empty)."""
    now = now or utcnow()
    nickname = None
    if external_userid and policy.can_view_customer(corp_id, userid, external_userid):
        nickname = db.session.scalar(select(Customer.name).filter_by(corp_id=corp_id, external_userid=external_userid))
    staff_name = _staff_name(corp_id, userid)
    media_items = [i for i in items if i.kind != "text"]
    messages = iter(chat_messages(corp_id, [{"msgtype": i.kind, **i.body} for i in media_items], now,
                                  [("content", i.id) for i in media_items]))
    out = []
    for item in items:
        if item.kind == "text":
            text = render_text(item.body.get("content"), nickname=nickname, staff_name=staff_name) or ""
            message, preview = {"msgtype": "text", "text": {"content": text}}, text
        else:
            message = next(messages)
            preview = {"image": "[图片]", "link": item.body.get("desc") or item.body.get("url"),
                       "miniprogram": f"[小程序] {item.body.get('title')}"}[item.kind]
        out.append({"id": item.id, "kind": item.kind, "kind_label": KIND_LABELS[item.kind],
                    "category": item.category, "title": item.title, "preview": (preview or "")[:PREVIEW_CHARS],
                    "use_count": item.use_count, "last_used_at": iso_z(item.last_used_at),
                    "sendable": message is not None, "message": message})
    return out


def record_sent(item: ContentItem, userid: str, *, external_userid: str | None = None, chat_id: str | None = None,
                ip: str | None = None) -> int:
    """Count one send (atomic UPDATE), audit it, and put it on the customer's timeline. Returns
    the new use_count. Commits."""
    now = utcnow()
    db.session.execute(update(ContentItem).where(ContentItem.id == item.id).values(
        use_count=ContentItem.use_count + 1, last_used_at=now))
    target = {k: v for k, v in (("external_userid", external_userid), ("chat_id", chat_id)) if v}
    access.audit(item.corp_id, userid, "send_content", "content", str(item.id), ip=ip,
                 detail={"title": item.title, "kind": item.kind, **target})
    if external_userid and policy.can_view_customer(item.corp_id, userid, external_userid):
        timeline.record(item.corp_id, external_userid, "content_sent", source="sidebar", userid=userid,
                        occurred_at=now, summary=f"发送了{KIND_LABELS[item.kind]}「{item.title}」",
                        data={"content_id": item.id, "kind": item.kind})
    db.session.commit()
    return db.session.scalar(select(ContentItem.use_count).where(ContentItem.id == item.id))


# ---- SOP reminder tasks ------------------------------------------------------------------------

def _step_name(step: Any) -> str:
    """``step``: a SopStep, or a row with its name and position."""
    return step.name or f"第{step.position + 1}步"


def task_dict(task: Any, sop_name: str, step_name: str, customer_name: str | None) -> dict[str, Any]:
    """``task``: a SopTask, or a row with its columns (pending_reminders)."""
    return {"id": task.id, "sop_name": sop_name, "step_name": step_name, "delivery": task.delivery,
            "due_at": iso_z(task.due_at), "status": task.status, "external_userid": task.external_userid,
            "customer_name": customer_name, "sent_from_sidebar_at": iso_z(task.sent_from_sidebar_at)}


def task_view(task: SopTask, now: datetime | None = None) -> dict[str, Any]:
    """The task and its step's content as sendChatMessage arguments (text rendered for the
    customer, then the attachments that can be sent; ``unsendable`` counts the others)."""
    now = now or utcnow()
    step = db.session.get(SopStep, task.step_id)
    nickname, staff_name = task_names(task)
    text = render_text(step.text, nickname=nickname, staff_name=staff_name)
    attachments = chat_messages(task.corp_id, step.attachments or [], now,
                                [("sop_step", step.id)] * len(step.attachments or []))
    messages = ([{"msgtype": "text", "text": {"content": text}}] if text else []) + [m for m in attachments if m]
    return {"task": task_dict(task, db.session.get(Sop, task.sop_id).name, _step_name(step), nickname),
            "messages": messages, "unsendable": sum(1 for m in attachments if m is None)}


def record_task_sent(task: SopTask, ip: str | None = None) -> SopTask:
    """Mark the task sent from the sidebar, once (later calls change nothing). Commits."""
    now = utcnow()
    claimed = db.session.execute(update(SopTask).where(
        SopTask.id == task.id, SopTask.sent_from_sidebar_at.is_(None)).values(sent_from_sidebar_at=now)).rowcount
    if claimed:
        sop, step = db.session.get(Sop, task.sop_id), db.session.get(SopStep, task.step_id)
        access.audit(task.corp_id, task.userid, "send_sop_step", "sop_task", str(task.id), ip=ip,
                     detail={"external_userid": task.external_userid, "sop_id": task.sop_id, "step_id": task.step_id})
        timeline.record(task.corp_id, task.external_userid, "sop_sent", source="sidebar", userid=task.userid,
                        occurred_at=now, summary=f"发送了SOP「{sop.name} · {_step_name(step)}」",
                        data={"sop_id": task.sop_id, "step_id": task.step_id, "task_id": task.id})
    db.session.commit()
    db.session.refresh(task)
    return task


@functools.cache
def pending_reminders_query() -> Select:
    # Built once (every sidebar profile asks: in one batch with its other reads,
    # scrm/services/profile/reads.py), bound per call; columns, not three ORM entities.
    return (select(SopTask.id, SopTask.delivery, SopTask.due_at, SopTask.status, SopTask.external_userid,
                   SopTask.sent_from_sidebar_at, Sop.name.label("sop_name"), SopStep.name, SopStep.position)
            .join(Sop, Sop.id == SopTask.sop_id)
            .join(SopStep, SopStep.id == SopTask.step_id)
            .where(SopTask.corp_id == bindparam("corp_id"), SopTask.userid == bindparam("userid"),
                   SopTask.external_userid == bindparam("external_userid"), SopTask.delivery == "reminder",
                   SopTask.status == TaskStatus.SENT, SopTask.sent_from_sidebar_at.is_(None),
                   Sop.status != SopStatus.DELETED)
            .order_by(SopTask.due_at, SopTask.id))


def pending_reminders(corp_id: str, userid: str, external_userid: str, *,
                      customer_name: str | None = None) -> list[dict]:
    """Reminder tasks of this staff–customer relation whose card was sent but whose content was
    not yet sent from the sidebar (SOPs not deleted), oldest due first."""
    rows = core_execute(pending_reminders_query(), {"corp_id": corp_id, "userid": userid,
                                                    "external_userid": external_userid}).all()
    if not rows:
        return []
    name = customer_name or db.session.scalar(select(Customer.name).filter_by(
        corp_id=corp_id, external_userid=external_userid))
    return reminders_from_rows(rows, name)


def reminders_from_rows(rows: list[Any], customer_name: str | None) -> list[dict]:
    """pending_reminders() of pending_reminders_query()'s rows."""
    return [task_dict(row, row.sop_name, _step_name(row), customer_name) for row in rows]


# ---- sandbox demo content ----------------------------------------------------------------------

DEMO_ITEMS = [
    ("产品介绍", "公司简介", "text", {"content": "{nickname}您好，我是{staff_name}。我们专注企业客户管理十余年，"
                                            "服务超过 5000 家企业，有任何问题随时联系我。"}, "介绍,公司"),
    ("产品介绍", "核心功能", "text", {"content": "我们的产品支持渠道活码、自动欢迎语、客户SOP和聊天侧边栏，"
                                            "帮助销售团队高效跟进每一位客户。"}, "功能"),
    ("产品介绍", "产品手册", "link", {"url": "https://example.com/brochure", "title": "产品手册（2024版）",
                                     "desc": "功能介绍、客户案例与部署方式"}, "手册,资料"),
    ("报价说明", "标准报价", "text", {"content": "{nickname}您好，标准版每个账号 99 元/月，按年付费可享八五折，"
                                            "20 个账号起另有团队优惠。"}, "价格,报价"),
    ("报价说明", "优惠活动", "text", {"content": "本月签约赠送 2 个月服务期，并免费提供一次上门培训，"
                                            "名额有限，欢迎尽早锁定。"}, "优惠,折扣"),
    ("报价说明", "付款方式", "text", {"content": "支持对公转账和在线支付，付款后 1 个工作日内开具发票。"}, "发票,付款"),
    ("售后服务", "服务时间", "text", {"content": "售后服务时间为工作日 9:00-18:00，紧急问题请拨打 400 热线，"
                                            "我们会在 2 小时内响应。"}, "售后,客服"),
    ("售后服务", "问题反馈", "text", {"content": "{nickname}您好，麻烦把遇到的问题截图发给我，"
                                            "我马上帮您联系技术同事处理。"}, "故障,反馈"),
]


def add_demo_content(corp_id: str) -> int:
    """Sample items for the sandbox, only while the corp's library is empty (deleted items
    count: the operator's deletions stay). Returns how many were added."""
    if db.session.scalar(select(func.count()).select_from(ContentItem).where(ContentItem.corp_id == corp_id)):
        return 0
    for category, title, kind, body, keywords in DEMO_ITEMS:
        db.session.add(ContentItem(corp_id=corp_id, kind=kind, category=category, title=title, body=body,
                                   keywords=keywords, use_count=0))
    db.session.commit()
    return len(DEMO_ITEMS)
