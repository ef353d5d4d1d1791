"""The sidebar's customer and group views, and the changes a salesperson makes there.

Reads take ids and return plain dicts (the JSON of sidebar/CONTRACT.md, times still datetimes);
writes own their transaction: WeCom first where WeCom holds the fact (tags, remark), then the
local rows, a timeline entry and an audit row, committed together.
"""
from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, tuple_, update

from scrm.clock import iso_z, utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import (
    Channel,
    ChannelAdd,
    Customer,
    CustomerFieldValue,
    CustomerStage,
    CustomField,
    FieldType,
    FollowRelation,
    FollowUp,
    FunnelStage,
    GroupChat,
    GroupMember,
    RelationStatus,
    RelationTag,
    Staff,
    Tag,
    TagGroup,
    TimelineEntry,
)
from scrm.services import access, library, sop, timeline
from scrm.services.corps import wecom_client
from scrm.services.dispatch import EventContext, RetryLater
from scrm.services.events.customers import refresh_customer
from scrm.services.validation import Invalid, raise_if
from scrm.wecom import PermanentWeComError, WeComError

TYPE_LABELS = {1: "微信用户", 2: "企业微信用户"}
GENDER_LABELS = {0: "未知", 1: "男", 2: "女"}
ADD_WAY_LABELS = {
    0: "未知来源", 1: "扫描二维码", 2: "搜索手机号", 3: "名片分享", 4: "群聊", 5: "手机通讯录",
    6: "微信联系人", 8: "第三方应用自动添加", 9: "搜索邮箱", 10: "视频号主页", 11: "日程参与人",
    12: "会议参与人", 13: "添加微信好友对应的企业微信", 14: "智慧硬件专属客服", 15: "上门服务客服",
    16: "获客链接", 17: "定制开发", 18: "需求回复", 201: "内部成员共享", 202: "管理员/负责人分配",
}
STATUS_LABELS = {
    RelationStatus.ACTIVE: "跟进中", RelationStatus.DELETED_BY_STAFF: "已删除客户",
    RelationStatus.DELETED_BY_CUSTOMER: "客户已删除", RelationStatus.TRANSFERRED: "已转接",
    RelationStatus.DELETED_UNKNOWN: "已失联",
}
JOIN_SCENE_LABELS = {1: "成员直接邀请", 2: "成员链接邀请", 3: "扫描群二维码"}
FOLLOW_UP_KINDS = {"chat": "聊天", "call": "电话", "visit": "拜访", "note": "备注"}
KIND_LABELS = {
    "relation_added": "添加为客户", "relation_updated": "资料更新", "customer_updated": "客户资料变化",
    "deleted_by_staff": "成员删除客户", "deleted_by_customer": "客户删除成员", "transferred": "客户转接",
    "transfer_failed": "转接失败", "msg_audit_approved": "同意会话存档", "joined_group": "加入群聊",
    "left_group": "退出群聊", "group_dismissed": "群聊解散", "channel_attributed": "渠道来源",
    "tags_applied": "自动打标签", "tags_apply_failed": "自动打标签失败", "welcome_sent": "欢迎语",
    "sop_enrolled": "加入SOP", "sop_step_sent": "SOP推送", "sop_sent": "发送SOP内容",
    "follow_up": "跟进记录", "tags_changed": "修改标签", "stage_changed": "阶段变更",
    "fields_changed": "修改客户资料", "remark_changed": "修改备注", "content_sent": "发送话术/素材",
}
DEFAULT_STAGES = ("初步接触", "需求确认", "方案报价", "商务谈判", "已成交", "已流失")
TEXT_FIELD_MAX = 200
FOLLOW_UP_MAX = 2000
REMARK_MAX, DESCRIPTION_MAX, MOBILES_MAX = 20, 150, 5


class Forbidden(Exception):
    """The staff member may not see or change this (answered 403, nothing else said)."""


class NotSynced(Exception):
    """We hold no such customer / group (answered 404, with the fetch-now offer)."""


def _label(labels: dict, value: Any) -> str | None:
    return None if value is None else labels.get(value, str(value))


def staff_names(corp_id: str, userids: set[str]) -> dict[str, str | None]:
    if not userids:
        return {}
    return dict(db.session.execute(select(Staff.userid, Staff.name).where(
        Staff.corp_id == corp_id, Staff.userid.in_(userids))).all())


# ---- the customer view ---------------------------------------------------------------------

def check_customer(corp_id: str, userid: str, external_userid: str,
                   relations: list[FollowRelation] | None = None) -> tuple[Customer, access.Role]:
    """The customer, if this staff member may see them; else Forbidden / NotSynced (a customer
    we do not hold at all: the fetch checks with WeCom). ``relations``: the customer's, when the
    caller has read them already (they answer the check for a follower)."""
    role = access.role_of(corp_id, userid)
    customer = db.session.scalar(select(Customer).filter_by(corp_id=corp_id, external_userid=external_userid))
    if customer is None:
        raise NotSynced
    following = None if relations is None else {r.userid for r in relations if _active(r)}
    if not access.can_view_customer(corp_id, userid, external_userid, role, following):
        raise Forbidden
    return customer, role


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
    # The hot read of the sidebar (bench/sidebar.py): the relations are read once and serve the
    # access check too; each part below is one or two indexed queries.
    relations = list(db.session.scalars(select(FollowRelation).filter_by(
        corp_id=corp_id, external_userid=external_userid).order_by(FollowRelation.added_at, FollowRelation.id)))
    customer, role = check_customer(corp_id, userid, external_userid, relations)
    mine = next((r for r in relations if r.userid == userid), None)
    latest_follow_ups = _follow_up_rows(corp_id, external_userid, 0, 5)
    names = staff_names(corp_id, {r.userid for r in relations} | {f.userid for f in latest_follow_ups})
    view = {
        "customer": {
            "external_userid": customer.external_userid, "name": customer.name, "avatar": customer.avatar,
            "type": customer.type, "type_label": _label(TYPE_LABELS, customer.type),
            "gender": customer.gender, "gender_label": _label(GENDER_LABELS, customer.gender),
            "corp_name": customer.corp_name, "corp_full_name": customer.corp_full_name,
            "position": customer.position},
        "relation": relation_view(mine, role) if mine else None,
        "channel": _channel(corp_id, external_userid, mine),
        "colleagues": [{"userid": r.userid, "name": names.get(r.userid), "remark": r.remark,
                        "added_at": r.added_at, "status": r.status,
                        "status_label": _label(STATUS_LABELS, r.status)}
                       for r in relations if r.userid != userid],
        "tags": tags_view(corp_id, userid, external_userid, editable=_active(mine)),
        "stage": stage_view(corp_id, external_userid),
        "fields": fields_view(corp_id, external_userid),
        "groups": _groups(corp_id, external_userid),
        "sops": _sops(corp_id, external_userid),
        "sop_reminders": library.pending_reminders(corp_id, userid, external_userid, customer_name=customer.name),
        "churn_risk": None,  # computed by the churn issue; the page keeps its place
        "follow_ups": [follow_up_view(f, names) for f in latest_follow_ups],
        "timeline": timeline_page(corp_id, external_userid, limit=timeline_limit),
    }
    access.audit(corp_id, userid, "view_customer", "customer", external_userid, ip=ip)
    db.session.commit()
    return view


def _active(relation: FollowRelation | None) -> bool:
    return relation is not None and relation.status == RelationStatus.ACTIVE


def relation_view(relation: FollowRelation, role: access.Role) -> dict[str, Any]:
    mobiles = [m for m in relation.remark_mobiles or [] if m]
    masked = not role.can_view_mobile
    return {
        "userid": relation.userid, "remark": relation.remark, "description": relation.description,
        "remark_corp_name": relation.remark_corp_name,
        "remark_mobiles": [access.mask_mobile(m) for m in mobiles] if masked else mobiles,
        "mobiles_masked": masked, "add_way": relation.add_way,
        "add_way_label": _label(ADD_WAY_LABELS, relation.add_way), "state": relation.state,
        "added_at": relation.added_at, "status": relation.status,
        "status_label": _label(STATUS_LABELS, relation.status)}


def _channel(corp_id: str, external_userid: str, mine: FollowRelation | None) -> dict | None:
    query = (select(Channel).join(ChannelAdd, ChannelAdd.channel_id == Channel.id)
             .where(ChannelAdd.corp_id == corp_id, ChannelAdd.external_userid == external_userid)
             .order_by(ChannelAdd.added_at.desc()).limit(1))
    if mine is not None:
        query = query.where(ChannelAdd.userid == mine.userid)
    channel = db.session.scalar(query)
    return {"id": channel.id, "name": channel.name, "state": channel.state} if channel else None


def tags_view(corp_id: str, userid: str, external_userid: str, *, editable: bool) -> dict[str, Any]:
    """The corp tag library with this relation's tags selected (and its personal tags)."""
    stored = list(db.session.scalars(select(RelationTag).filter_by(
        corp_id=corp_id, userid=userid, external_userid=external_userid).order_by(RelationTag.id)))
    selected_ids = {t.tag_id for t in stored if t.tag_id}
    # Plain rows, not ORM objects: the library is the biggest part of a profile (hundreds of tags).
    library = db.session.execute(
        select(Tag.tag_id, Tag.name, Tag.group_id, TagGroup.name)
        .outerjoin(TagGroup, and_(TagGroup.corp_id == Tag.corp_id, TagGroup.group_id == Tag.group_id))
        .where(Tag.corp_id == corp_id, Tag.deleted.is_(False), Tag.strategy_id.is_(None))
        .order_by(TagGroup.order.desc().nulls_last(), Tag.group_id, Tag.order.desc().nulls_last(), Tag.id)).all()
    groups: dict[str | None, dict] = {}
    names: dict[str, tuple[str | None, str | None]] = {}
    for tag_id, name, group_id, group_name in library:
        names[tag_id] = (name, group_name)
        group = groups.setdefault(group_id, {"group_id": group_id, "name": group_name, "tags": []})
        group["tags"].append({"tag_id": tag_id, "name": name, "selected": tag_id in selected_ids})
    selected = [{"tag_id": t.tag_id, "name": names.get(t.tag_id, (t.tag_name,))[0] or t.tag_name,
                 "group_name": names.get(t.tag_id, (None, t.group_name))[1] or t.group_name}
                for t in stored if t.tag_id]
    return {"selected": selected, "groups": list(groups.values()),
            "personal": [{"name": t.tag_name} for t in stored if not t.tag_id], "editable": editable}


def stages(corp_id: str) -> list[FunnelStage]:
    """The corp's funnel; a corp that defined none gets the default stages on first use."""
    rows = list(db.session.scalars(select(FunnelStage).filter_by(corp_id=corp_id, deleted=False)
                                   .order_by(FunnelStage.order, FunnelStage.id)))
    if rows or db.session.scalar(select(FunnelStage.id).filter_by(corp_id=corp_id).limit(1)):
        return rows
    rows = [FunnelStage(corp_id=corp_id, name=name, order=i) for i, name in enumerate(DEFAULT_STAGES)]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def stage_view(corp_id: str, external_userid: str) -> dict[str, Any]:
    options = stages(corp_id)
    current = db.session.scalar(select(CustomerStage).filter_by(corp_id=corp_id, external_userid=external_userid))
    by_id = {s.id: s for s in options}
    stage = by_id.get(current.stage_id) if current else None
    return {"current": {"id": stage.id, "name": stage.name} if stage else None,
            "options": [{"id": s.id, "name": s.name} for s in options]}


def custom_fields(corp_id: str) -> list[CustomField]:
    return list(db.session.scalars(select(CustomField).filter_by(corp_id=corp_id, deleted=False)
                                   .order_by(CustomField.order, CustomField.id)))


def fields_view(corp_id: str, external_userid: str) -> list[dict[str, Any]]:
    values = dict(db.session.execute(select(CustomerFieldValue.field_id, CustomerFieldValue.value).filter_by(
        corp_id=corp_id, external_userid=external_userid)).all())
    out = []
    for field in custom_fields(corp_id):
        value: Any = values.get(field.id)
        if value is not None and field.type == FieldType.NUMBER:
            value = float(value) if "." in value or "e" in value.lower() else int(value)
        out.append({"id": field.id, "key": field.key, "label": field.label, "type": field.type,
                    "options": field.options or [], "required": field.required, "value": value})
    return out


def _groups(corp_id: str, external_userid: str) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(GroupMember.chat_id, GroupMember.join_time, GroupChat.name)
        .join(GroupChat, and_(GroupChat.corp_id == GroupMember.corp_id, GroupChat.chat_id == GroupMember.chat_id))
        .where(GroupMember.corp_id == corp_id, GroupMember.member_id == external_userid,
               GroupMember.quit_time.is_(None), GroupChat.status != "dismissed")
        .order_by(GroupMember.join_time.desc().nulls_last())).all()
    counts = dict(db.session.execute(
        select(GroupMember.chat_id, func.count()).where(
            GroupMember.corp_id == corp_id, GroupMember.chat_id.in_([r.chat_id for r in rows]),
            GroupMember.quit_time.is_(None)).group_by(GroupMember.chat_id)).all()) if rows else {}
    return [{"chat_id": r.chat_id, "name": r.name, "joined_at": r.join_time,
             "member_count": counts.get(r.chat_id, 0)} for r in rows]


def _sops(corp_id: str, external_userid: str) -> list[dict[str, Any]]:

    out = []
    for item in sop.progress(corp_id, external_userid):
        upcoming = [s["due_at"] for s in item["steps"] if s["status"] == "pending"]
        out.append({"sop_id": item["sop_id"], "name": item["sop_name"], "status": item["status"],
                    "userid": item["userid"], "done": item["done"], "total": item["total"],
                    "next_due_at": min(upcoming) if upcoming else None})
    return out


def timeline_page(corp_id: str, external_userid: str, *, before: int | None = None,
                  limit: int = 20) -> dict[str, Any]:
    """Newest first; ``before`` is the id of the last entry of the previous page."""
    query = (select(TimelineEntry)
             .where(TimelineEntry.corp_id == corp_id, TimelineEntry.external_userid == external_userid)
             .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc()).limit(limit + 1))
    if before is not None:
        anchor = db.session.scalar(select(TimelineEntry.occurred_at).filter_by(
            id=before, corp_id=corp_id, external_userid=external_userid))
        if anchor is not None:
            query = query.where(tuple_(TimelineEntry.occurred_at, TimelineEntry.id) < tuple_(anchor, before))
    rows = list(db.session.scalars(query))
    items = [{"id": e.id, "kind": e.kind, "kind_label": KIND_LABELS.get(e.kind, e.kind),
              "summary": e.summary, "occurred_at": e.occurred_at, "userid": e.userid, "source": e.source}
             for e in rows[:limit]]
    return {"items": items, "next_before": rows[limit - 1].id if len(rows) > limit else None}


# ---- changes --------------------------------------------------------------------------------

def my_relation(corp_id: str, userid: str, external_userid: str) -> FollowRelation:
    """This staff member's active relation: WeCom edits (tags, remark) are made as the follower."""
    relation = db.session.scalar(select(FollowRelation).filter_by(
        corp_id=corp_id, userid=userid, external_userid=external_userid))
    if not _active(relation):
        raise Forbidden
    return relation


def set_tags(corp_id: str, userid: str, external_userid: str, add: list[str], remove: list[str], *,
             ip: str | None = None) -> dict[str, Any]:

    check_customer(corp_id, userid, external_userid)
    relation = my_relation(corp_id, userid, external_userid)
    wanted = set(add) | set(remove)
    library = {tag_id: (name, group) for tag_id, name, group in db.session.execute(
        select(Tag.tag_id, Tag.name, TagGroup.name)
        .outerjoin(TagGroup, and_(TagGroup.corp_id == Tag.corp_id, TagGroup.group_id == Tag.group_id))
        .where(Tag.corp_id == corp_id, Tag.tag_id.in_(wanted), Tag.deleted.is_(False)))} if wanted else {}
    unknown = sorted(wanted - set(library))
    raise_if({"add" if tag in add else "remove": [f"未知或已删除的标签：{tag}"] for tag in unknown})
    stored = {t.tag_id: t for t in db.session.scalars(select(RelationTag).filter_by(
        corp_id=corp_id, userid=userid, external_userid=external_userid)) if t.tag_id}
    add = [t for t in dict.fromkeys(add) if t not in stored and t not in remove]
    remove = [t for t in dict.fromkeys(remove) if t in stored]
    if add or remove:
        wecom_client(corp_id).mark_tag(userid, external_userid, add_tag=add, remove_tag=remove)
        for tag_id in add:
            name, group = library[tag_id]
            db.session.add(RelationTag(corp_id=corp_id, userid=userid, external_userid=external_userid,
                                       tag_key=tag_id, tag_id=tag_id, tag_name=name, group_name=group, type=1))
        for tag_id in remove:
            db.session.delete(stored[tag_id])
        label = {"add": [library[t][0] for t in add], "remove": [library[t][0] for t in remove]}
        summary = "；".join(part for part in (
            "添加 " + "、".join(filter(None, label["add"])) if add else "",
            "移除 " + "、".join(filter(None, label["remove"])) if remove else "") if part)
        timeline.record(corp_id, external_userid, "tags_changed", source="sidebar", userid=userid,
                        summary=summary, data={"add": add, "remove": remove})
        access.audit(corp_id, userid, "edit_tags", "customer", external_userid,
                     detail={"add": add, "remove": remove}, ip=ip)
        relation.updated_at = utcnow()
    db.session.commit()
    return tags_view(corp_id, userid, external_userid, editable=True)


def set_stage(corp_id: str, userid: str, external_userid: str, stage_id: int | None, *,
              ip: str | None = None) -> dict[str, Any]:
    check_customer(corp_id, userid, external_userid)
    options = {s.id: s for s in stages(corp_id)}
    if stage_id is not None and stage_id not in options:
        raise Invalid({"stage_id": ["未知的客户阶段"]})
    row = db.session.scalar(select(CustomerStage).filter_by(corp_id=corp_id, external_userid=external_userid))
    before = options.get(row.stage_id) if row else None
    if (before.id if before else None) != stage_id:
        if stage_id is None:
            db.session.delete(row)
        elif row is None:
            db.session.add(CustomerStage(corp_id=corp_id, external_userid=external_userid,
                                         stage_id=stage_id, updated_by=userid))
        else:
            row.stage_id, row.updated_by = stage_id, userid
        after = options.get(stage_id) if stage_id else None
        timeline.record(corp_id, external_userid, "stage_changed", source="sidebar", userid=userid,
                        summary=f"{before.name if before else '未设置'} → {after.name if after else '未设置'}",
                        data={"from": before.id if before else None, "to": stage_id})
        access.audit(corp_id, userid, "edit_stage", "customer", external_userid,
                     detail={"from": before.id if before else None, "to": stage_id}, ip=ip)
    db.session.commit()
    return stage_view(corp_id, external_userid)


def _parse_field(field: CustomField, value: Any) -> str | None:
    """The stored text of ``value`` for ``field``; ValueError with a Chinese message if invalid."""
    if value is None or value == "":
        if field.required:
            raise ValueError("必填")
        return None
    if field.type == FieldType.NUMBER:
        if isinstance(value, bool):
            raise ValueError("请输入数字")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("请输入数字") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("请输入数字")
        return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    if not isinstance(value, str):
        raise ValueError("请输入文本")
    value = value.strip()
    if field.type == FieldType.DATE:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError("日期格式应为 YYYY-MM-DD") from None
    if field.type == FieldType.SELECT:
        if value not in (field.options or []):
            raise ValueError("请选择列表中的选项")
        return value
    if len(value) > TEXT_FIELD_MAX:
        raise ValueError(f"最多 {TEXT_FIELD_MAX} 个字")
    return value


def set_fields(corp_id: str, userid: str, external_userid: str, values: dict[str, Any], *,
               ip: str | None = None) -> list[dict[str, Any]]:

    check_customer(corp_id, userid, external_userid)
    fields = {f.key: f for f in custom_fields(corp_id)}
    errors: dict[str, list[str]] = {}
    parsed: dict[str, str | None] = {}
    for key, value in values.items():
        field = fields.get(key)
        if field is None:
            errors[key] = ["未知的字段"]
            continue
        try:
            parsed[key] = _parse_field(field, value)
        except ValueError as exc:
            errors[key] = [str(exc)]
    raise_if(errors)
    stored = {v.field_id: v for v in db.session.scalars(select(CustomerFieldValue).filter_by(
        corp_id=corp_id, external_userid=external_userid))}
    changed: dict[str, list] = {}
    for key, value in sorted(parsed.items(), key=lambda item: (fields[item[0]].order, fields[item[0]].id)):
        field, row = fields[key], stored.get(fields[key].id)
        old = row.value if row else None
        if old == value:
            continue
        changed[key] = [old, value]
        if value is None:
            db.session.delete(row)
        elif row is None:
            db.session.add(CustomerFieldValue(corp_id=corp_id, external_userid=external_userid,
                                              field_id=field.id, value=value, updated_by=userid))
        else:
            row.value, row.updated_by = value, userid
    if changed:
        timeline.record(corp_id, external_userid, "fields_changed", source="sidebar", userid=userid,
                        summary="、".join(fields[key].label for key in changed), data={"changes": changed})
        access.audit(corp_id, userid, "edit_fields", "customer", external_userid,
                     detail={"changes": changed}, ip=ip)
    db.session.commit()
    # A date field is also a customer date: SOP steps anchored to its key are (re)scheduled.
    for key in changed:
        if fields[key].type == FieldType.DATE:
            value = parsed[key]
            sop.set_customer_date(corp_id, external_userid, key, date.fromisoformat(value) if value else None)
    return fields_view(corp_id, external_userid)


def set_remark(corp_id: str, userid: str, external_userid: str, data: dict[str, Any], *,
               ip: str | None = None) -> dict[str, Any]:

    _, role = check_customer(corp_id, userid, external_userid)
    relation = my_relation(corp_id, userid, external_userid)
    errors: dict[str, list[str]] = {}
    limits = {"remark": REMARK_MAX, "description": DESCRIPTION_MAX}
    changes: dict[str, Any] = {}
    for key, limit in limits.items():
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, str):
                errors[key] = ["请输入文本"]
            elif value and len(value) > limit:
                errors[key] = [f"最多 {limit} 个字"]
            elif (value or None) != getattr(relation, key):
                changes[key] = value or ""
    if "remark_mobiles" in data:
        mobiles = data["remark_mobiles"]
        if not isinstance(mobiles, list) or not all(isinstance(m, str) for m in mobiles):
            errors["remark_mobiles"] = ["应为手机号列表"]
        elif len(mobiles) > MOBILES_MAX:
            errors["remark_mobiles"] = [f"最多 {MOBILES_MAX} 个手机号"]
        elif any(m and not (m.replace("-", "").replace("+", "").isdigit() and len(m) <= 20) for m in mobiles):
            errors["remark_mobiles"] = ["手机号格式不正确"]
        elif "*" in "".join(mobiles):
            errors["remark_mobiles"] = ["请输入完整手机号"]
        else:
            mobiles = [m for m in mobiles if m]
            if mobiles != [m for m in relation.remark_mobiles or [] if m]:
                changes["remark_mobiles"] = mobiles
    raise_if(errors)
    if changes:
        wecom_client(corp_id).remark(userid, external_userid, remark=changes.get("remark"),
                                     description=changes.get("description"),
                                     remark_mobiles=(changes["remark_mobiles"] or [""])
                                     if "remark_mobiles" in changes else None)
        before = {key: getattr(relation, key) for key in changes}
        for key, value in changes.items():
            setattr(relation, key, value or None if key != "remark_mobiles" else value)
        timeline.record(corp_id, external_userid, "remark_changed", source="sidebar", userid=userid,
                        summary=relation.remark,
                        data={"fields": sorted(changes)})
        access.audit(corp_id, userid, "edit_remark", "customer", external_userid,
                     detail={"fields": sorted(changes), "had": {k: v is not None for k, v in before.items()}}, ip=ip)
    db.session.commit()
    return relation_view(relation, role)


# ---- follow-ups -----------------------------------------------------------------------------

def follow_up_view(row: FollowUp, names: dict[str, str | None]) -> dict[str, Any]:
    return {"id": row.id, "userid": row.userid, "staff_name": names.get(row.userid), "kind": row.kind,
            "kind_label": FOLLOW_UP_KINDS.get(row.kind, row.kind), "content": row.content,
            "next_at": row.next_at, "reminder_status": row.reminder_status, "created_at": row.created_at,
            "external_userid": row.external_userid}


def _follow_up_rows(corp_id: str, external_userid: str, offset: int, limit: int) -> list[FollowUp]:
    return list(db.session.scalars(select(FollowUp).filter_by(corp_id=corp_id, external_userid=external_userid)
                                   .order_by(FollowUp.created_at.desc(), FollowUp.id.desc())
                                   .offset(offset).limit(limit)))


def follow_ups(corp_id: str, external_userid: str, *, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """A page of the customer's follow-ups, newest first, with the total."""
    rows = _follow_up_rows(corp_id, external_userid, (page - 1) * page_size, page_size)
    total = db.session.scalar(select(func.count()).select_from(FollowUp).filter_by(
        corp_id=corp_id, external_userid=external_userid))
    names = staff_names(corp_id, {r.userid for r in rows})
    return {"items": [follow_up_view(r, names) for r in rows], "total": total, "page": page,
            "page_size": page_size}


def add_follow_up(corp_id: str, userid: str, external_userid: str, kind: str, content: str,
                  next_at: datetime | None, *, ip: str | None = None) -> dict[str, Any]:
    """``next_at``: naive UTC. The follow-up is on the timeline; a next time is reminded when due."""
    check_customer(corp_id, userid, external_userid)
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


# ---- the group view -------------------------------------------------------------------------

def group_view(corp_id: str, userid: str, chat_id: str, *, ip: str | None = None,
               now: datetime | None = None) -> dict[str, Any]:
    group = db.session.scalar(select(GroupChat).filter_by(corp_id=corp_id, chat_id=chat_id))
    if group is None:
        raise NotSynced
    role = access.role_of(corp_id, userid)
    if not access.can_view_group(corp_id, userid, group, role):
        raise Forbidden
    now = now or utcnow()
    week_ago = now - timedelta(days=7)
    members = list(db.session.scalars(select(GroupMember).filter_by(corp_id=corp_id, chat_id=chat_id)
                                      .order_by(GroupMember.join_time.nulls_last(), GroupMember.id)))
    current = [m for m in members if m.quit_time is None]
    customers = {m.member_id for m in current if m.type == 2}
    viewable = access.viewable_customers(corp_id, userid, customers, role)
    known = set(db.session.scalars(select(Customer.external_userid).where(
        Customer.corp_id == corp_id, Customer.external_userid.in_(customers)))) if customers else set()
    names = staff_names(corp_id, {m.member_id for m in current if m.type == 1} | {group.owner or ""})
    view = {
        "group": {"chat_id": group.chat_id, "name": group.name, "notice": group.notice, "status": group.status,
                  "owner": {"userid": group.owner, "name": names.get(group.owner or "")},
                  "created_at": group.create_time},
        "counts": {"members": len(current), "customers": len(customers),
                   "staff": sum(1 for m in current if m.type == 1)},
        "week": {"joined": sum(1 for m in members if m.join_time and m.join_time >= week_ago),
                 "left": sum(1 for m in members if m.quit_time and m.quit_time >= week_ago)},
        "members": [{"member_id": m.member_id, "type": m.type,
                     "name": m.name or (names.get(m.member_id) if m.type == 1 else None),
                     "group_nickname": m.group_nickname, "join_time": m.join_time,
                     "join_scene_label": _label(JOIN_SCENE_LABELS, m.join_scene),
                     "is_customer": m.type == 2,
                     "viewable": m.type == 2 and m.member_id in viewable and m.member_id in known}
                    for m in current],
        "group_sops": [],  # group SOPs come with a later issue
    }
    access.audit(corp_id, userid, "view_group", "group", chat_id, ip=ip)
    db.session.commit()
    return view


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
        if not sop.reminder_allowed(row.corp_id, row.userid):
            row.reminder_status = "pending"
            db.session.commit()
            continue
        name = db.session.scalar(select(Customer.name).filter_by(
            corp_id=row.corp_id, external_userid=row.external_userid)) or row.external_userid
        url = f"{settings().public_url}/sidebar/?customer={row.external_userid}"
        description = (f'<div class="gray">{FOLLOW_UP_KINDS.get(row.kind, row.kind)} · 客户：{html.escape(name)}</div>'
                       f'<div class="normal">{html.escape(row.content[:120])}</div>')
        try:
            wecom_client(row.corp_id).send_app_message(row.userid, "textcard", {
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
