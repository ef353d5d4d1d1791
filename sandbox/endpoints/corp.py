"""Token, directory (通讯录), OAuth, JS-SDK tickets, 「联系我」 contact ways, chat-archive stubs."""
from __future__ import annotations

from flask import request

from sandbox.endpoints.base import Call, endpoint
from sandbox.errors import ApiError, invalid
from sandbox.model import ContactWay, Staff
from sandbox.world import World


@endpoint("gettoken", auth=False)
def gettoken(call: Call) -> dict:
    token, expires_in = call.world.issue_token(call.args.get("corpid"), call.args.get("corpsecret"))
    return {"access_token": token, "expires_in": expires_in}


@endpoint("getcallbackip")
def getcallbackip(call: Call) -> dict:
    return {"ip_list": ["127.0.0.1"]}


def user_json(world: World, staff: Staff) -> dict:
    return {"userid": staff.userid, "name": staff.name, "department": staff.department,
            "order": [0] * len(staff.department), "position": staff.position, "mobile": staff.mobile,
            "gender": str(staff.gender), "email": staff.email,
            "is_leader_in_dept": [int(staff.userid in world.department_leaders(d)) for d in staff.department],
            "avatar": staff.avatar, "thumb_avatar": staff.avatar + "?thumb=1", "status": 1,
            "main_department": staff.main_department, "alias": "", "telephone": "", "enable": 1,
            "qr_code": f"https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=sandbox_{staff.userid}"}


@endpoint("user/get")
def user_get(call: Call) -> dict:
    return user_json(call.world, call.world.member(call.text("userid", required=True, missing=41009)))


def _subtree(world: World, root: int) -> set[int]:
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for dept in world.departments.values():
            if dept.parentid == parent and dept.id not in found:
                found.add(dept.id)
                frontier.append(dept.id)
    return found


@endpoint("user/list")
def user_list(call: Call) -> dict:
    world = call.world
    department_id = call.integer("department_id", required=True)
    if department_id not in world.departments:
        raise ApiError(60123)
    wanted = _subtree(world, department_id) if call.integer("fetch_child", 0) == 1 else {department_id}
    return {"userlist": [user_json(world, s) for s in world.active_staff() if wanted & set(s.department)]}


@endpoint("department/list")
def department_list(call: Call) -> dict:
    world = call.world
    root = call.integer("id")
    if root is not None and root not in world.departments:
        raise ApiError(60123)
    wanted = _subtree(world, root) if root is not None else set(world.departments)
    return {"department": [{"id": d.id, "name": d.name, "name_en": "",
                            "department_leader": world.department_leaders(d.id),
                            "parentid": d.parentid, "order": d.order}
                           for d in world.departments.values() if d.id in wanted]}


@endpoint("auth/getuserinfo")
def auth_getuserinfo(call: Call) -> dict:
    """snsapi_base: the member's userid for a code the sandbox issued (control API oauth-codes)."""
    return {"userid": call.world.use_oauth_code(call.text("code", required=True, missing=40029))}


@endpoint("user/getuserinfo")
def legacy_getuserinfo(call: Call) -> dict:
    """The older OAuth endpoint (wechatpy's client.oauth.get_user_info calls it)."""
    return {"UserId": call.world.use_oauth_code(call.text("code", required=True, missing=40029)),
            "DeviceId": ""}


@endpoint("get_jsapi_ticket")
def get_jsapi_ticket(call: Call) -> dict:
    ticket, expires_in = call.world.ticket("corp")
    return {"ticket": ticket, "expires_in": expires_in}


@endpoint("ticket/get")
def ticket_get(call: Call) -> dict:
    if call.args.get("type") != "agent_config":
        raise invalid("type must be agent_config")
    ticket, expires_in = call.world.ticket("agent")
    return {"ticket": ticket, "expires_in": expires_in}


# ---- 「联系我」 contact ways (channel codes) -------------------------------------------------------

CONTACT_WAY_FIELDS = ("type", "scene", "style", "remark", "skip_verify", "state", "user", "party",
                      "is_temp", "expires_in", "chat_expires_in", "unionid", "is_exclusive", "conclusions")


def _check_contact_way(call: Call, settings: dict) -> None:
    world = call.world
    if settings.get("type") not in (1, 2):
        raise ApiError(41037 if settings.get("type") is None else 41039)
    if settings.get("scene") not in (1, 2):
        raise ApiError(41038 if settings.get("scene") is None else 41040)
    if len(str(settings.get("state") or "")) > 30:
        raise invalid("state is longer than 30 characters")
    users = settings.get("user") or []
    if not isinstance(users, list) or (not users and not settings.get("party")):
        raise invalid("user or party is required")
    if settings["type"] == 1 and len(users) != 1:
        raise invalid("type 1 (单人) takes exactly one user")
    if len(users) > 100:
        raise ApiError(41041)
    for userid in users:
        if not world.member(userid).has_contact:
            raise ApiError(84074, f"{userid} has no customer contact")


@endpoint("externalcontact/add_contact_way")
def add_contact_way(call: Call) -> dict:
    world = call.world
    settings = {k: call.body[k] for k in CONTACT_WAY_FIELDS if k in call.body}
    _check_contact_way(call, settings)
    config_id = world.contact_way_id()
    # The simulator serves a stand-in image there (sandbox/community_routes.py), as for join ways.
    qr_code = f"{request.host_url}sandbox/qr/contact-way/{config_id}.svg" if settings["scene"] == 2 else ""
    world.contact_ways[config_id] = ContactWay(config_id, settings, qr_code)
    world.feed.add("contact_way", op="add", config_id=config_id, settings=settings)
    return {"config_id": config_id, **({"qr_code": qr_code} if qr_code else {})}


def _contact_way(call: Call) -> ContactWay:
    config_id = call.text("config_id", required=True, missing=41043)
    way = call.world.contact_ways.get(config_id)
    if way is None:
        raise ApiError(41044)
    return way


@endpoint("externalcontact/get_contact_way")
def get_contact_way(call: Call) -> dict:
    way = _contact_way(call)
    return {"contact_way": {"config_id": way.config_id, "qr_code": way.qr_code, "remark": "", "state": "",
                            "style": 1, "skip_verify": True, "user": [], "party": [], **way.settings}}


@endpoint("externalcontact/update_contact_way")
def update_contact_way(call: Call) -> dict:
    way = _contact_way(call)
    settings = {**way.settings, **{k: call.body[k] for k in CONTACT_WAY_FIELDS if k in call.body}}
    _check_contact_way(call, settings)
    way.settings = settings
    return {}


@endpoint("externalcontact/del_contact_way")
def del_contact_way(call: Call) -> dict:
    del call.world.contact_ways[_contact_way(call).config_id]
    return {}


# ---- chat archive (会话内容存档): the sandbox corp has not enabled it ------------------------------

@endpoint("msgaudit/get_permit_user_list")
def msgaudit_permit_users(call: Call) -> dict:
    return {"ids": []}


@endpoint("msgaudit/check_single_agree", "msgaudit/check_room_agree")
def msgaudit_agree(call: Call) -> dict:
    return {"agreeinfo": []}
