"""The sidebar's customer view: the whole profile in one read, and its parts (tags, stage,
custom fields, timeline) that the edits answer with. Reads take ids and return plain dicts (the
JSON of sidebar/CONTRACT.md, times still datetimes); the view is audited."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import core_execute, db
from scrm.models import CustomField, FieldType, FollowRelation, RelationStatus
from scrm.services import access, library, policy, sop
from scrm.services.events.customers import refresh_customer
from scrm.services.events.registry import EventContext, RetryLater
from scrm.services.profile import corp_options, reads, timeline
from scrm.services.profile.common import (
    STAFF_LEFT,
    STATUS_LABELS,
    UNREAD,
    NotSynced,
    check_reader,
    is_active,
    label,
    staff_names_left,
)
from scrm.services.profile.follow_ups import follow_up_view
from scrm.services.profile.recall import recall_reminders_from_rows, recall_task
from scrm.services.profile.risk import relation_risk
from scrm.wecom import PermanentWeComError

TYPE_LABELS = {1: "微信用户", 2: "企业微信用户"}
GENDER_LABELS = {0: "未知", 1: "男", 2: "女"}
ADD_WAY_LABELS = {
    0: "未知来源", 1: "扫描二维码", 2: "搜索手机号", 3: "名片分享", 4: "群聊", 5: "手机通讯录",
    6: "微信联系人", 8: "第三方应用自动添加", 9: "搜索邮箱", 10: "视频号主页", 11: "日程参与人",
    12: "会议参与人", 13: "添加微信好友对应的企业微信", 14: "智慧硬件专属客服", 15: "上门服务客服",
    16: "获客链接", 17: "定制开发", 18: "需求回复", 201: "内部成员共享", 202: "管理员/负责人分配",
}


# ---- the customer view ---------------------------------------------------------------------

def fetch_now(corp_id: str, userid: str, external_userid: str) -> None:
    """The "fetch it now" button: read the customer from WeCom (externalcontact/get) and store
    them with every relation, as an edit callback would. NotSynced when WeCom does not know
    them (or does not show them to this app); the view that follows checks access."""
    ctx = EventContext(event_id=None, corp_id=corp_id, event="sidebar_fetch", change_type=None,
                       data={"UserID": userid, "ExternalUserID": external_userid},
                       occurred_at=utcnow(), source="sidebar")
    try:
        refresh_customer(ctx, require_pair=False)
    except (RetryLater, PermanentWeComError):
        db.session.rollback()
        raise NotSynced from None
    if not db.session.scalar(select(FollowRelation.id).filter_by(corp_id=corp_id, external_userid=external_userid)
                             .limit(1)):
        db.session.rollback()  # WeCom showed no follower within the app's visibility
        raise NotSynced
    db.session.commit()


def customer_view(corp_id: str, userid: str, external_userid: str, *, timeline_limit: int = 20,
                  ip: str | None = None) -> dict[str, Any]:
    # The hot read of the sidebar (bench/sidebar.py): every part is read in one statement
    # (reads.py); the relations serve the access check too.
    read = reads.read(corp_id, userid, external_userid, timeline_limit)
    relations = read.relations
    customer, role, read_only = check_reader(corp_id, userid, external_userid, relations, customer=read.customer,
                                             role=read.role)
    mine = next((r for r in relations if r.userid == userid), None)  # a row: relation_view's columns
    latest_follow_ups = read.follow_ups
    names, left = _staff_of(corp_id, relations, {f.userid for f in latest_follow_ups})
    deleted = mine is not None and mine.status == RelationStatus.DELETED_BY_CUSTOMER
    opts = corp_options.options(corp_id)  # corp-wide: cached per corp and version
    channel = read.channel_mine if mine is not None else read.channel_any
    view = {
        "customer": {
            "external_userid": customer.external_userid, "name": customer.name, "avatar": customer.avatar,
            "type": customer.type, "type_label": label(TYPE_LABELS, customer.type),
            "gender": customer.gender, "gender_label": label(GENDER_LABELS, customer.gender),
            "corp_name": customer.corp_name, "corp_full_name": customer.corp_full_name,
            "position": customer.position},
        "relation": relation_view(mine, role) if mine else None,
        "read_only": read_only,
        "channel": {"id": channel.id, "name": channel.name, "state": channel.state} if channel else None,
        "colleagues": [{"userid": r.userid, "name": names.get(r.userid), "remark": r.remark,
                        "added_at": r.added_at, "status": r.status,
                        "status_label": label(STATUS_LABELS, r.status),
                        "left": r.userid in left, "left_at": left.get(r.userid)}
                       for r in relations if r.userid != userid],
        "tags": tags_view(corp_id, userid, external_userid, editable=is_active(mine), opts=opts, stored=read.tags),
        "stage": stage_view(corp_id, external_userid, opts, current=read.stage_id),
        "fields": fields_view(corp_id, external_userid, opts, values=read.field_values),
        "groups": groups_view(corp_id, external_userid, rows=read.groups),
        "sops": sop.summaries_from_rows(read.sops),
        "sop_reminders": library.reminders_from_rows(read.sop_reminders, customer.name),
        "churn_risk": relation_risk(corp_id, userid, external_userid, row=read.risk),  # risk.py
        "recall": recall_task(corp_id, userid, external_userid) if deleted else None,
        "recall_reminders": [] if deleted or mine is None else recall_reminders_from_rows(read.recall_reminders),
        "follow_ups": [follow_up_view(f, names, left) for f in latest_follow_ups],
        "timeline": timeline.page_from_rows(read.timeline, timeline_limit, mask_mobiles=not role.can_view_mobile),
    }
    access.audit(corp_id, userid, "view_customer", "customer", external_userid, ip=ip)
    db.session.commit()
    return view


def _staff_of(corp_id: str, relations: list[Any], authors: set[str]) -> tuple[dict, dict]:
    """staff_names_left() of the followers (read with the relations) and the follow-ups' authors
    (read only for those who follow no longer)."""
    names = {r.userid: r.staff_name for r in relations}
    left = {r.userid: r.staff_left_at for r in relations
            if r.staff_left_at is not None or r.staff_status == STAFF_LEFT}
    others = authors - names.keys()
    if others:
        more_names, more_left = staff_names_left(corp_id, others)
        names, left = names | more_names, left | more_left
    return names, left


def relation_view(relation: Any, role: policy.Role) -> dict[str, Any]:
    """``relation``: a FollowRelation, or a row with these columns (reads.relations_query())."""
    mobiles = [m for m in relation.remark_mobiles or [] if m]
    masked = not role.can_view_mobile
    return {
        "userid": relation.userid, "remark": relation.remark, "description": relation.description,
        "remark_corp_name": relation.remark_corp_name,
        "remark_mobiles": [access.mask_mobile(m) for m in mobiles] if masked else mobiles,
        "mobiles_masked": masked, "add_way": relation.add_way,
        "add_way_label": label(ADD_WAY_LABELS, relation.add_way), "state": relation.state,
        "added_at": relation.added_at, "status": relation.status,
        "status_label": label(STATUS_LABELS, relation.status), "status_changed_at": relation.status_changed_at}


def tags_view(corp_id: str, userid: str, external_userid: str, *, editable: bool,
              opts: corp_options.CorpOptions | None = None, stored: list[Any] | None = None) -> dict[str, Any]:
    """This relation's corp tags (named as the library names them now) and personal tags. The
    library itself is corp-wide: GET /sidebar/api/tag-library, whose version ``library_version``
    names (the page fetches it again when they differ). ``stored``: relation_tags_query()'s rows,
    when read already."""
    opts = opts or corp_options.options(corp_id)
    if stored is None:
        stored = core_execute(reads.relation_tags_query(), {"corp_id": corp_id, "userid": userid,
                                                            "external_userid": external_userid}).all()
    names = opts.tag_names
    selected = [{"tag_id": tag_id, "name": names.get(tag_id, (tag_name,))[0] or tag_name,
                 "group_name": names.get(tag_id, (None, group_name))[1] or group_name}
                for tag_id, tag_name, group_name in stored if tag_id]
    return {"selected": selected, "personal": [{"name": tag_name} for tag_id, tag_name, _ in stored if not tag_id],
            "editable": editable, "library_version": opts.etag}


def stage_view(corp_id: str, external_userid: str, opts: corp_options.CorpOptions | None = None, *,
               current: Any = UNREAD) -> dict[str, Any]:
    """``current``: the customer's stage id (None: none), when read already."""
    opts = opts or corp_options.options(corp_id)
    if current is UNREAD:
        current = core_execute(reads.stage_query(), {"corp_id": corp_id, "external_userid": external_userid}).scalar()
    stage = next((s for s in opts.stages if s["id"] == current), None) if current is not None else None
    return {"current": dict(stage) if stage else None, "options": [dict(s) for s in opts.stages]}


def custom_fields(corp_id: str) -> list[CustomField]:
    return list(db.session.scalars(select(CustomField).filter_by(corp_id=corp_id, deleted=False)
                                   .order_by(CustomField.order, CustomField.id)))


def fields_view(corp_id: str, external_userid: str, opts: corp_options.CorpOptions | None = None, *,
                values: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """``values``: the customer's {field id: value}, when read already."""
    opts = opts or corp_options.options(corp_id)
    if not opts.fields:
        return []
    if values is None:
        values = dict(core_execute(reads.field_values_query(), {"corp_id": corp_id,
                                                                "external_userid": external_userid}).all())
    out = []
    for field in opts.fields:
        value: Any = values.get(field["id"])
        if value is not None and field["type"] == FieldType.NUMBER:
            value = float(value) if "." in value or "e" in value.lower() else int(value)
        out.append({**field, "options": list(field["options"]), "value": value})
    return out


def groups_view(corp_id: str, external_userid: str, *, rows: list[Any] | None = None) -> list[dict[str, Any]]:
    """The groups the customer is in; ``rows``: reads.groups_query()'s, when read already."""
    if rows is None:
        rows = core_execute(reads.groups_query(), {"corp_id": corp_id, "external_userid": external_userid}).all()
    return [{"chat_id": chat_id, "name": name, "joined_at": joined_at, "member_count": count}
            for chat_id, joined_at, name, count in rows]
