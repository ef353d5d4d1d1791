"""Messages the service sends: welcome messages (docs/wecom/api.md#welcome-message), group welcome
templates, mass sends (docs/wecom/api.md#mass-send) and app messages to staff
(docs/wecom/api.md#messages-to-staff). What is sent is recorded in the feed."""
from __future__ import annotations

import hashlib
import json

from sandbox.endpoints.base import Call, byte_len, endpoint, offset_page
from sandbox.endpoints.media import check_media
from sandbox.errors import ApiError, invalid
from sandbox.model import MassSend
from sandbox.world import World

ATTACHMENT_TYPES = ("image", "link", "miniprogram", "video", "file")
MAX_ATTACHMENTS = 9
MAX_GROUP_WELCOME_TEMPLATES = 100


def _content(text: object, limit: int, what: str = "text") -> str:
    if text is None:
        return ""
    if not isinstance(text, dict) or not isinstance(text.get("content", ""), str):
        raise invalid(f"{what} must be {{\"content\": \"...\"}}")
    content = text.get("content") or ""
    if byte_len(content) > limit:
        raise ApiError(45002, f"{what}.content is longer than {limit} bytes")
    return content


def _check_attachment(kind: str, body: object, world: World | None = None) -> None:
    if not isinstance(body, dict):
        raise invalid(f"{kind} must be an object")
    if world is not None:  # an unknown or expired temporary media_id: 40007 (docs/wecom/api.md#temporary-media)
        for key in ("media_id", "pic_media_id"):
            if body.get(key):
                check_media(world, str(body[key]))
    if kind == "image" and not (body.get("media_id") or body.get("pic_url")):
        raise ApiError(41006, "image needs media_id or pic_url")
    if kind in ("video", "file") and not body.get("media_id"):
        raise ApiError(41006, f"{kind} needs media_id")
    if kind == "link":
        if not body.get("title") or not body.get("url"):
            raise invalid("link needs title and url")
        if byte_len(str(body["title"])) > 128 or byte_len(str(body.get("desc") or "")) > 512:
            raise invalid("link.title ≤ 128 bytes, link.desc ≤ 512 bytes")
    if kind == "miniprogram":
        if not all(body.get(k) for k in ("title", "pic_media_id", "appid", "page")):
            raise invalid("miniprogram needs title, pic_media_id, appid and page")
        if byte_len(str(body["title"])) > 64:
            raise invalid("miniprogram.title ≤ 64 bytes")


def message_body(call: Call, text_limit: int = 4000) -> tuple[dict | None, list[dict]]:
    """text + attachments of send_welcome_msg / add_msg_template, checked against
    docs/wecom/limits.md#content-limits."""
    content = _content(call.body.get("text"), text_limit)
    attachments = call.items("attachments") or []
    if len(attachments) > MAX_ATTACHMENTS:
        raise invalid(f"at most {MAX_ATTACHMENTS} attachments")
    for item in attachments:
        kind = item.get("msgtype") if isinstance(item, dict) else None
        if kind not in ATTACHMENT_TYPES:
            raise ApiError(41065, f"msgtype {kind!r}")
        _check_attachment(kind, item.get(kind), call.world)
    if not content and not attachments:
        raise ApiError(44004, "text and attachments are both empty")
    return ({"content": content} if content else None), attachments


@endpoint("externalcontact/send_welcome_msg")
def send_welcome_msg(call: Call) -> dict:
    world = call.world
    code = call.text("welcome_code", required=True, missing=41049)
    text, attachments = message_body(call)  # a malformed body does not use up the code
    welcome = world.use_welcome_code(code)
    world.feed.add("welcome_sent", userid=welcome.userid, external_userid=welcome.external_userid,
                   welcome_code=code, text=text, attachments=attachments,
                   latency_ms=round((welcome.used_at - welcome.issued_at) * 1000))
    return {}


# ---- group welcome templates (入群欢迎语素材, doc 92366) -------------------------------------------

def _template(call: Call) -> dict:
    content = _content(call.body.get("text"), 3000)
    template: dict = {"text": {"content": content}} if content else {}
    for kind in ATTACHMENT_TYPES:
        if call.body.get(kind) is not None:
            _check_attachment(kind, call.body[kind], call.world)
            template[kind] = call.body[kind]
    if not template:
        raise ApiError(44004, "text and attachment are both empty")
    return template


@endpoint("externalcontact/group_welcome_template/add")
def group_welcome_template_add(call: Call) -> dict:
    world = call.world
    if len(world.group_welcome_templates) >= MAX_GROUP_WELCOME_TEMPLATES:
        raise ApiError(41055)
    template_id = world.new_id("msg", 30, world.group_welcome_templates)
    world.group_welcome_templates[template_id] = _template(call)
    world.feed.add("group_welcome_template", op="add", template_id=template_id,
                   template=world.group_welcome_templates[template_id])
    return {"template_id": template_id}


def _template_id(call: Call) -> str:
    template_id = call.text("template_id", required=True)
    if template_id not in call.world.group_welcome_templates:
        raise invalid(f"template_id {template_id!r} not found")
    return template_id


@endpoint("externalcontact/group_welcome_template/edit")
def group_welcome_template_edit(call: Call) -> dict:
    template_id = _template_id(call)
    call.world.group_welcome_templates[template_id] = _template(call)
    return {}


@endpoint("externalcontact/group_welcome_template/get")
def group_welcome_template_get(call: Call) -> dict:
    return dict(call.world.group_welcome_templates[_template_id(call)])


@endpoint("externalcontact/group_welcome_template/del")
def group_welcome_template_del(call: Call) -> dict:
    del call.world.group_welcome_templates[_template_id(call)]
    return {}


# ---- mass sends (企业群发) ------------------------------------------------------------------------

@endpoint("externalcontact/add_msg_template")
def add_msg_template(call: Call) -> dict:
    chat_type = call.text("chat_type") or "single"
    if chat_type not in ("single", "group"):
        raise invalid("chat_type must be single or group")
    external_userids = call.items("external_userid", max_items=10000) if chat_type == "single" else None
    chat_ids = call.items("chat_id_list", max_items=2000) if chat_type == "group" else None
    tag_filter = call.body.get("tag_filter") if chat_type == "single" else None
    if tag_filter is not None and not isinstance(tag_filter, dict):
        raise invalid("tag_filter must be an object")
    text, attachments = message_body(call)
    msg, fail_list = call.world.create_mass_send(
        chat_type=chat_type, sender=call.text("sender") or None, external_userids=external_userids,
        chat_ids=chat_ids, tag_filter=tag_filter, text=text, attachments=attachments)
    return {"fail_list": fail_list, "msgid": msg.msgid}


def _msg_json(msg: MassSend) -> dict:
    out = {"msgid": msg.msgid, "creator": msg.creator, "create_time": int(msg.create_time),
           "create_type": msg.create_type}
    if msg.text:
        out["text"] = msg.text
    if msg.attachments:
        out["attachments"] = msg.attachments
    return out


@endpoint("externalcontact/get_groupmsg_list_v2")
def get_groupmsg_list_v2(call: Call) -> dict:
    chat_type = call.text("chat_type", required=True)
    start = call.integer("start_time", required=True, low=0)
    end = call.integer("end_time", required=True, low=0)
    if end < start or end - start > 31 * 86400:
        raise invalid("end_time must follow start_time by at most one month")
    creator = call.text("creator")
    filter_type = call.integer("filter_type", 2, low=0, high=2)
    limit = call.integer("limit", 50, low=1, high=100) or 50
    rows = [_msg_json(m) for m in call.world.mass_sends.values()
            if m.chat_type == chat_type and start <= m.create_time <= end
            and (not creator or m.creator == creator) and filter_type in (2, m.create_type)]
    page, next_cursor = offset_page(rows, call.text("cursor"), limit)
    return {"group_msg_list": page, "next_cursor": next_cursor}


@endpoint("externalcontact/get_groupmsg_task")
def get_groupmsg_task(call: Call) -> dict:
    msg = call.world.dispatched(call.text("msgid", required=True, missing=41046))
    limit = call.integer("limit", 500, low=1, high=1000) or 500
    rows = [{"userid": t.userid, "status": t.status, **({"send_time": t.send_time} if t.send_time else {})}
            for t in msg.tasks.values()]
    page, next_cursor = offset_page(rows, call.text("cursor"), limit)
    return {"task_list": page, "next_cursor": next_cursor}


@endpoint("externalcontact/get_groupmsg_send_result")
def get_groupmsg_send_result(call: Call) -> dict:
    msg = call.world.dispatched(call.text("msgid", required=True, missing=41046))
    userid = call.text("userid", required=True, missing=41009)
    limit = call.integer("limit", 500, low=1, high=1000) or 500
    task = msg.tasks.get(userid)
    rows = []
    target_key = "chat_id" if msg.chat_type == "group" else "external_userid"
    for target in task.targets if task else []:
        status = call.world.send_status(task, target)
        rows.append({target_key: target, "userid": userid, "status": status,
                     **({"send_time": task.send_time} if status == 1 else {})})
    page, next_cursor = offset_page(rows, call.text("cursor"), limit)
    return {"send_list": page, "next_cursor": next_cursor}


@endpoint("externalcontact/remind_groupmsg_send")
def remind_groupmsg_send(call: Call) -> dict:
    msg = call.world.dispatched(call.text("msgid", required=True, missing=41046))
    if msg.reminders >= 3:
        raise invalid("at most 3 reminders per mass send")
    msg.reminders += 1
    call.world.feed.add("mass_send_reminded", msgid=msg.msgid,
                        pending=[t.userid for t in msg.tasks.values() if t.status == 0])
    return {}


@endpoint("externalcontact/cancel_groupmsg_send")
def cancel_groupmsg_send(call: Call) -> dict:
    msg = call.world.dispatched(call.text("msgid", required=True, missing=41046))
    msg.cancelled = True
    call.world.feed.add("mass_send_cancelled", msgid=msg.msgid)
    return {}


# ---- app messages to staff (message/send) --------------------------------------------------------

@endpoint("message/send")
def message_send(call: Call) -> dict:
    world = call.world
    agentid = call.integer("agentid", required=False)
    if agentid is None:
        raise ApiError(41011)
    if agentid != world.config.agent_id:
        raise ApiError(40056, f"agentid {agentid}")
    msgtype = call.text("msgtype", required=True)
    content = call.body.get(msgtype)
    if not isinstance(content, dict):
        raise invalid(f"{msgtype} body missing")
    if msgtype == "text":
        if not content.get("content"):
            raise ApiError(44004)
        if byte_len(str(content["content"])) > 2048:
            raise ApiError(45002, "text.content is longer than 2048 bytes")
    if msgtype == "template_card":
        _check_template_card(content)
    requested = [u for u in call.text("touser").split("|") if u]
    if "@all" in requested:
        recipients = [s.userid for s in world.active_staff()]
        invalid_users = []
    else:
        recipients = [u for u in requested if u in world.staff and world.staff[u].active]
        invalid_users = [u for u in requested if u not in recipients]
    parties = [p for p in call.text("toparty").split("|") if p]
    for staff in world.active_staff():
        if any(int(p) in staff.department for p in parties if p.isdigit()) and staff.userid not in recipients:
            recipients.append(staff.userid)
    invalid_parties = [p for p in parties if not p.isdigit() or int(p) not in world.departments]
    invalid_tags = [t for t in call.text("totag").split("|") if t]  # the sandbox has no contact tags
    if not recipients:
        raise ApiError(81013)
    msgid = world.new_id("", 32)
    duplicate = _duplicate(world, call) if call.integer("enable_duplicate_check", 0) == 1 else False
    world.feed.add("app_message", msgid=msgid, touser=recipients, msgtype=msgtype, content=content,
                   invaliduser=invalid_users, dropped_as_duplicate=duplicate)
    return {"invaliduser": "|".join(invalid_users), "invalidparty": "|".join(invalid_parties),
            "invalidtag": "|".join(invalid_tags), "unlicenseduser": "", "msgid": msgid,
            "response_code": ""}


def _check_template_card(card: dict) -> None:
    """A text_notice card as WeCom requires it: a card_action with its url, a main title or a
    sub-title text, ≤ 6 horizontal rows each with a keyname, ≤ 3 jumps (40058 otherwise)."""
    if card.get("card_type") != "text_notice":
        raise invalid(f"template_card.card_type {card.get('card_type')!r} (the sandbox plays text_notice)")
    action = card.get("card_action")
    if not isinstance(action, dict) or (action.get("type") == 1 and not action.get("url")):
        raise invalid("template_card.card_action is required for text_notice")
    if not (card.get("main_title") or {}).get("title") and not card.get("sub_title_text"):
        raise invalid("template_card needs main_title.title or sub_title_text")
    rows = card.get("horizontal_content_list") or []
    if len(rows) > 6 or any(not isinstance(r, dict) or not r.get("keyname") for r in rows):
        raise invalid("template_card.horizontal_content_list: at most 6 rows, each with a keyname")
    if len(card.get("jump_list") or []) > 3:
        raise invalid("template_card.jump_list: at most 3")


def _duplicate(world: World, call: Call) -> bool:
    """enable_duplicate_check: the same JSON within duplicate_check_interval is not delivered."""
    interval = call.integer("duplicate_check_interval", 1800, low=1, high=4 * 3600) or 1800
    key = hashlib.sha256(json.dumps(call.body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    seen = world.message_hashes
    now = world.now()
    if len(seen) > 10_000:  # WeCom's window is at most 4 h: older hashes can't match anything
        for old in [k for k, at in seen.items() if now - at > 4 * 3600]:
            del seen[old]
    last = seen.get(key)
    seen[key] = now if last is None or now - last >= interval else last
    return last is not None and now - last < interval
