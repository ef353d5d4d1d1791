"""The changes a salesperson makes in the sidebar: tags, funnel stage, custom fields, remark.

Each owns its transaction: WeCom first where WeCom holds the fact (tags, remark), then the local
rows, a timeline entry and an audit row, committed together; it answers with the part of the
view it changed."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import CustomerFieldValue, CustomerStage, CustomField, FieldType, RelationTag
from scrm.services import access, sop, tagging, timeline
from scrm.services.corps import wecom_client
from scrm.services.profile.common import check_customer, my_relation
from scrm.services.profile.corp_options import stages
from scrm.services.profile.views import custom_fields, fields_view, relation_view, stage_view, tags_view
from scrm.services.validation import Invalid, raise_if

TEXT_FIELD_MAX = 200
REMARK_MAX, DESCRIPTION_MAX, MOBILES_MAX = 20, 150, 5


def set_tags(corp_id: str, userid: str, external_userid: str, add: list[str], remove: list[str], *,
             ip: str | None = None) -> dict[str, Any]:

    check_customer(corp_id, userid, external_userid)
    relation = my_relation(corp_id, userid, external_userid)
    wanted = set(add) | set(remove)
    library = tagging.library(corp_id, wanted)
    unknown = sorted(wanted - set(library))
    raise_if({"add" if tag in add else "remove": [f"未知或已删除的标签：{tag}"] for tag in unknown})
    stored = {t.tag_id: t for t in db.session.scalars(select(RelationTag).filter_by(
        corp_id=corp_id, userid=userid, external_userid=external_userid)) if t.tag_id}
    add = [t for t in dict.fromkeys(add) if t not in stored and t not in remove]
    remove = [t for t in dict.fromkeys(remove) if t in stored]
    if add or remove:
        tagging.mark(wecom_client(corp_id), userid, external_userid, add, remove)
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
        # old → new, as the edit callback records a change made in WeCom (events/customers.py)
        timeline.record(corp_id, external_userid, "remark_changed", source="sidebar", userid=userid,
                        summary=relation.remark,
                        data={"fields": sorted(changes),
                              "changes": {key: [before[key], getattr(relation, key)] for key in sorted(changes)}})
        access.audit(corp_id, userid, "edit_remark", "customer", external_userid,
                     detail={"fields": sorted(changes), "had": {k: v is not None for k, v in before.items()}}, ip=ip)
    db.session.commit()
    return relation_view(relation, role)
