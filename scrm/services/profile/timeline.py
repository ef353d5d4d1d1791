"""The customer's timeline as the sidebar shows it: newest first, paged, each entry with its
label and, for edits, what changed (old → new) whether made in the sidebar or in WeCom (the
callback handlers keep both values in the entry's data, scrm/services/events/)."""
from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select, tuple_

from scrm.extensions import core_execute, db
from scrm.models import TimelineEntry
from scrm.services import access

KIND_LABELS = {
    "relation_added": "添加为客户", "relation_updated": "资料更新", "customer_updated": "客户资料变化",
    "deleted_by_staff": "成员删除客户", "deleted_by_customer": "客户删除成员", "transferred": "客户转接",
    "transfer_failed": "转接失败", "msg_audit_approved": "同意会话存档", "joined_group": "加入群聊",
    "left_group": "退出群聊", "group_dismissed": "群聊解散", "group_renamed": "群名修改",
    "channel_attributed": "渠道来源", "tags_applied": "自动打标签", "tags_apply_failed": "自动打标签失败",
    "welcome_sent": "欢迎语", "sop_enrolled": "加入SOP", "sop_step_sent": "SOP推送", "sop_sent": "发送SOP内容",
    "follow_up": "跟进记录", "tags_changed": "修改标签", "stage_changed": "销售阶段变更",
    "fields_changed": "修改客户资料", "remark_changed": "修改备注", "content_sent": "发送话术/素材",
    "handover_started": "发起转接", "handed_over": "转接完成",  # scrm/services/handover
    "recall_sent": "客户召回", "recall_done": "召回跟进", "recall_won": "召回成功",  # scrm/services/recall
}
# The fields an edit's data.changes may hold ({field: [old, new]}), in display order.
FIELD_LABELS = {
    "remark": "备注", "description": "描述", "remark_corp_name": "备注企业", "remark_mobiles": "备注电话",
    "name": "昵称", "avatar": "头像", "type": "类型", "gender": "性别", "corp_name": "企业简称",
    "corp_full_name": "企业全称", "position": "职位", "external_profile": "对外资料",
}
VALUE_LABELS = {"type": {1: "微信用户", 2: "企业微信用户"}, "gender": {0: "未知", 1: "男", 2: "女"}}
# Shown as "changed" only: an URL or a structure says nothing to a salesperson; unionid is not theirs.
OPAQUE_FIELDS = {"avatar", "external_profile"}
HIDDEN_FIELDS = {"unionid"}
GROUP_KINDS = {"joined_group", "left_group", "group_dismissed"}
# The kinds whose data.changes holds FIELD_LABELS fields (fields_changed holds custom field keys).
EDIT_KINDS = {"relation_updated", "customer_updated", "remark_changed"}


@functools.cache
def page_query() -> Select:
    # Columns, not ORM objects, and built once: a page is read on every profile (bench/sidebar.py;
    # the profile's first page in one batch with its other reads, reads.py). ``limit``: a page's + 1.
    return (select(TimelineEntry.id, TimelineEntry.kind, TimelineEntry.data, TimelineEntry.summary,
                   TimelineEntry.occurred_at, TimelineEntry.userid, TimelineEntry.source)
            .where(TimelineEntry.corp_id == bindparam("corp_id"),
                   TimelineEntry.external_userid == bindparam("external_userid"))
            .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc()).limit(bindparam("limit")))


def timeline_page(corp_id: str, external_userid: str, *, before: int | None = None, limit: int = 20,
                  mask_mobiles: bool = True, where: ColumnElement[bool] | None = None) -> dict[str, Any]:
    """Newest first; ``before`` is the id of the last entry of the previous page. Mobiles in an
    entry's changes are masked unless ``mask_mobiles`` is False (the viewer's role may see them);
    ``where`` narrows the entries (a reader's data scope)."""
    query = page_query()
    if where is not None:
        query = query.where(where)
    if before is not None:
        anchor = db.session.scalar(select(TimelineEntry.occurred_at).filter_by(
            id=before, corp_id=corp_id, external_userid=external_userid))
        if anchor is not None:
            query = query.where(tuple_(TimelineEntry.occurred_at, TimelineEntry.id) < tuple_(anchor, before))
    rows = core_execute(query, {"corp_id": corp_id, "external_userid": external_userid,
                                "limit": limit + 1}).all()
    return page_from_rows(rows, limit, mask_mobiles=mask_mobiles)


def page_from_rows(rows: list[Any], limit: int, *, mask_mobiles: bool = True) -> dict[str, Any]:
    """timeline_page() of page_query()'s rows (up to ``limit`` + 1)."""
    items = [entry_view(e, mask_mobiles=mask_mobiles) for e in rows[:limit]]
    return {"items": items, "next_before": rows[limit - 1].id if len(rows) > limit else None}


def entry_view(entry: Any, *, mask_mobiles: bool = True) -> dict[str, Any]:
    data = entry.data if isinstance(entry.data, dict) else {}
    summary = entry.summary
    if summary is None and entry.kind in GROUP_KINDS and data.get("chat_name"):
        summary = data["chat_name"]
    return {"id": entry.id, "kind": entry.kind, "kind_label": KIND_LABELS.get(entry.kind, entry.kind),
            "summary": summary, "changes": changes(entry.kind, data, mask_mobiles=mask_mobiles) or None,
            "occurred_at": entry.occurred_at, "userid": entry.userid, "source": entry.source}


def changes(kind: str, data: dict[str, Any], *, mask_mobiles: bool = True) -> list[dict[str, Any]]:
    """What an edit changed: [{"field","label","from","to"}] for values, {"field":"tags","label",
    "added":[names],"removed":[names]} for tags, {"field","label"} for a change shown without its
    values (an avatar URL). Empty for entries that are not edits."""
    if kind == "group_renamed":
        return [{"field": "group_name", "label": "群名", "from": data.get("from"), "to": data.get("to")}]
    recorded = data.get("changes")
    if kind not in EDIT_KINDS or not isinstance(recorded, dict):
        return []
    out = []
    for field, label in FIELD_LABELS.items():
        pair = recorded.get(field)
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        if field in OPAQUE_FIELDS:
            out.append({"field": field, "label": label})
            continue
        old, new = (_value(field, v, mask_mobiles) for v in pair)
        if old != new:
            out.append({"field": field, "label": label, "from": old, "to": new})
    added = [_tag_name(t) for t in recorded.get("tags_added") or []]
    removed = [_tag_name(t) for t in recorded.get("tags_removed") or []]
    if added or removed:
        out.append({"field": "tags", "label": "标签", "added": added, "removed": removed})
    return out


def _value(field: str, value: Any, mask_mobiles: bool) -> Any:
    if field == "remark_mobiles":
        mobiles = [m for m in value or [] if m]
        return "、".join(access.mask_mobile(m) if mask_mobiles else m for m in mobiles) or None
    if field in VALUE_LABELS and value is not None:
        return VALUE_LABELS[field].get(value, str(value))
    return value if value != "" else None


def _tag_name(tag: Any) -> str | None:
    if isinstance(tag, dict):
        return tag.get("name") or tag.get("key")
    return None if tag is None else str(tag)
