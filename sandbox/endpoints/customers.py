"""客户 APIs (docs/wecom/api.md#customers, #transfers): customers, follow relations, remarks, tags on relations,
transfers and the pending-handover list."""
from __future__ import annotations

from itertools import islice

from sandbox.endpoints.base import Call, decode_cursor, encode_cursor, endpoint, offset_page
from sandbox.errors import ApiError, invalid
from sandbox.model import Customer, Relation
from sandbox.world import World

FOLLOW_PAGE = 500  # externalcontact/get pages follow_user beyond 500 entries


def contact_json(customer: Customer) -> dict:
    out = {"external_userid": customer.external_userid, "name": customer.name,
           "avatar": customer.avatar, "type": customer.type, "gender": customer.gender}
    if customer.type == 1:
        out["unionid"] = customer.unionid
    else:
        out.update(position=customer.position, corp_name=customer.corp_name,
                   corp_full_name=customer.corp_full_name)
    return out


def _follow_common(relation: Relation) -> dict:
    out = {"userid": relation.userid, "remark": relation.remark, "description": relation.description,
           "createtime": relation.createtime}
    return out


def _follow_tail(relation: Relation, out: dict) -> dict:
    # Optional fields are left out when empty, as WeCom does.
    if relation.remark_corp_name:
        out["remark_corp_name"] = relation.remark_corp_name
    out["remark_mobiles"] = list(relation.remark_mobiles)
    out["oper_userid"] = relation.oper_userid
    out["add_way"] = relation.add_way
    if relation.state:
        out["state"] = relation.state
    return out


def follow_user_json(world: World, relation: Relation) -> dict:
    """A follow_user entry of externalcontact/get (tags with names)."""
    out = _follow_common(relation)
    tags = []
    for tag_id in relation.tag_ids:
        tag = world.tags.get(tag_id)
        if tag is not None:
            tags.append({"group_name": world.tag_groups[tag.group_id].name, "tag_name": tag.name,
                         "type": 1, "tag_id": tag_id})
    out["tags"] = tags
    return _follow_tail(relation, out)


def follow_info_json(relation: Relation) -> dict:
    """A follow_info of batch/get_by_user (tag ids only)."""
    out = _follow_common(relation)
    out["tag_id"] = list(relation.tag_ids)
    return _follow_tail(relation, out)


@endpoint("externalcontact/get_follow_user_list")
def get_follow_user_list(call: Call) -> dict:
    return {"follow_user": [s.userid for s in call.world.active_staff() if s.has_contact]}


@endpoint("externalcontact/list")
def list_customers(call: Call) -> dict:
    staff = call.world.member(call.text("userid", required=True, missing=41009))
    if not staff.has_contact:
        raise ApiError(84074)
    if not staff.relations:
        raise ApiError(84061, f"{staff.userid} has no customers")
    return {"external_userid": list(staff.relations)}


@endpoint("externalcontact/get")
def get_customer(call: Call) -> dict:
    world = call.world
    customer = world.customer(call.text("external_userid", required=True, missing=41035))
    world.check_contact_visible(customer.external_userid)
    relations = world.visible_relations(customer)
    if not relations:
        raise ApiError(84061)
    start = (decode_cursor(call.text("cursor"), 1) or [0])[0]
    page = relations[start:start + FOLLOW_PAGE]
    more = start + FOLLOW_PAGE < len(relations)
    return {"external_contact": contact_json(customer),
            "follow_user": [follow_user_json(world, rel) for rel in page],
            "next_cursor": encode_cursor(start + FOLLOW_PAGE) if more else ""}


@endpoint("externalcontact/batch/get_by_user")
def batch_get_by_user(call: Call) -> dict:
    world = call.world
    userids = call.items("userid_list", required=True, max_items=100)
    limit = call.integer("limit", 50)
    if limit is None or not 1 <= limit <= 100:
        limit = 50  # doc 92994: "最大值100，默认值50，超过最大值时取默认值"
    index, last_seq = decode_cursor(call.text("cursor"), 2) or [0, 0]

    def pairs():
        # Position = (index in userid_list, relation seq): stable while relations come and go.
        for i in range(index, len(userids)):
            staff = world.staff.get(userids[i]) if isinstance(userids[i], str) else None
            if staff is None or not staff.active:
                continue
            for relation in staff.relations.values():
                if i == index and relation.seq <= last_seq:
                    continue
                yield i, relation

    page = list(islice(pairs(), limit + 1))
    more = len(page) > limit
    page = page[:limit]
    return {"external_contact_list": [
                {"external_contact": contact_json(world.customers[rel.external_userid]),
                 "follow_info": follow_info_json(rel)} for _, rel in page],
            "next_cursor": encode_cursor(page[-1][0], page[-1][1].seq) if more else "",
            "fail_info": {"unlicensed_userid_list": []}}


def _relation(call: Call) -> Relation:
    world = call.world
    staff = world.member(call.text("userid", required=True, missing=41009))
    customer = world.customer(call.text("external_userid", required=True, missing=41035))
    relation = staff.relations.get(customer.external_userid)
    if relation is None:
        raise ApiError(84061, f"{customer.external_userid} is not a customer of {staff.userid}")
    return relation


@endpoint("externalcontact/remark")
def remark(call: Call) -> dict:
    relation = _relation(call)
    fields = {name: call.text(name, max_chars=limit)
              for name, limit in (("remark", 20), ("description", 150), ("remark_company", 20))}
    mobiles = call.items("remark_mobiles", max_items=5)
    if not any(fields.values()) and mobiles is None and not call.text("remark_pic_mediaid"):
        raise invalid("at least one of remark, description, remark_company, remark_mobiles, "
                      "remark_pic_mediaid is required")
    # Only the fields sent change (an explicit "" clears one). API edits fire no callback
    # (docs/wecom/callbacks.md#api-changes-fire-no-callback).
    targets = {"remark": "remark", "description": "description", "remark_company": "remark_corp_name"}
    for name, target in targets.items():
        if name in call.body:
            setattr(relation, target, fields[name])
    if mobiles is not None:
        relation.remark_mobiles = tuple(str(m) for m in mobiles if m)
    return {}


@endpoint("externalcontact/mark_tag")
def mark_tag(call: Call) -> dict:
    world = call.world
    relation = _relation(call)
    add = call.items("add_tag") or []
    remove = call.items("remove_tag") or []
    if not add and not remove:
        raise invalid("add_tag and remove_tag are both empty")
    unknown = [tag_id for tag_id in add + remove if tag_id not in world.tags]
    if unknown:
        raise ApiError(40068, ", ".join(map(str, unknown[:5])))
    tags = [t for t in relation.tag_ids if t not in remove]
    tags += [t for t in dict.fromkeys(add) if t not in tags]
    relation.tag_ids = tuple(tags)
    return {}


# ---- transfers (在职 / 离职继承) ----------------------------------------------------------------

def _start_transfers(call: Call, *, resigned: bool) -> dict:
    world = call.world
    handover_id = call.text("handover_userid", required=True, missing=41009)
    handover = world.staff.get(handover_id)
    if handover is None:
        raise ApiError(60111, f"handover_userid {handover_id!r}")
    if resigned and handover.active:
        raise ApiError(40097)
    if not resigned and not handover.active:
        raise ApiError(60111, f"handover_userid {handover_id!r} has resigned; use resigned/transfer_customer")
    takeover = world.member(call.text("takeover_userid", required=True, missing=41009))
    external_userids = call.items("external_userid", required=True, max_items=100)
    if not resigned:
        call.text("transfer_success_msg", max_chars=200)
    return {"customer": [{"external_userid": ext,
                          "errcode": world.start_transfer(handover.userid, takeover.userid, str(ext),
                                                          resigned=resigned)}
                         for ext in external_userids]}


def _transfer_result(call: Call, *, resigned: bool) -> dict:
    handover = call.text("handover_userid", required=True, missing=41009)
    takeover = call.text("takeover_userid", required=True, missing=41009)
    rows = [{"external_userid": t.external_userid, "status": t.status,
             **({"takeover_time": t.takeover_time} if t.takeover_time else {})}
            for t in call.world.transfers.values()
            if t.handover_userid == handover and t.takeover_userid == takeover and t.resigned == resigned]
    page, next_cursor = offset_page(rows, call.text("cursor"), 1000)
    return {"customer": page, "next_cursor": next_cursor}


@endpoint("externalcontact/transfer_customer")
def transfer_customer(call: Call) -> dict:
    return _start_transfers(call, resigned=False)


@endpoint("externalcontact/resigned/transfer_customer")
def resigned_transfer_customer(call: Call) -> dict:
    return _start_transfers(call, resigned=True)


@endpoint("externalcontact/transfer_result")
def transfer_result(call: Call) -> dict:
    return _transfer_result(call, resigned=False)


@endpoint("externalcontact/resigned/transfer_result")
def resigned_transfer_result(call: Call) -> dict:
    return _transfer_result(call, resigned=True)


@endpoint("externalcontact/get_unassigned_list")
def get_unassigned_list(call: Call) -> dict:
    page_size = call.integer("page_size", 1000, low=1, high=1000)
    rows = call.world.unassigned()
    if call.text("cursor"):
        start = (decode_cursor(call.text("cursor"), 1) or [0])[0]
    else:
        start = (call.integer("page_id", 0, low=0) or 0) * page_size
        if start >= 50000:
            raise invalid("page_id * page_size must be below 50000; use cursor")
    page = rows[start:start + page_size]
    is_last = start + page_size >= len(rows)
    return {"info": [{"handover_userid": h, "external_userid": e, "dimission_time": t} for h, e, t in page],
            "is_last": is_last, "next_cursor": "" if is_last else encode_cursor(start + page_size)}
