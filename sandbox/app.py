"""The simulator's Flask app: the WeCom API under /cgi-bin/ plus a small JSON control API.

``create_simulator_app(world, callback_url)`` mounts both on one in-memory ``World``; callbacks
go to ``callback_url`` (none are sent without one). Run it with ``python -m sandbox``.

Control API (JSON in and out; no authentication — it is a local sandbox):

  GET  /sandbox/api/                       corp id, agent id, API base path, sizes, action names
  GET  /sandbox/api/actions                every action with its parameters (name, type, required, default)
  POST /sandbox/api/actions/<name>         run an action; body = its parameters
                                           → 200 {"action", "result"} | 404 unknown action
                                           | 422 {"errors": {field: message}}
  GET  /sandbox/api/feed?after=N&limit=L&kind=K
                                           feed entries with id > N (oldest first, ≤ L, default 200)
                                           → {"entries": [...], "last_id": newest id}
  GET  /sandbox/api/world/staff            every member: userid, name, department, has_contact,
                                           active, customers, groups_owned
  GET  /sandbox/api/world/customers?staff=&q=&page=&page_size=
                                           customers (of a member; q matches name, remark, id)
                                           → {"total", "page", "page_size", "customers"}
  GET  /sandbox/api/world/customers/<external_userid>   one customer, relations, groups
  GET  /sandbox/api/world/groups?staff=&page=&page_size=
                                           live groups (owned by or including a member)
  GET  /sandbox/api/world/groups/<chat_id>              one group with its members
  GET  /sandbox/api/world/tags             the corp tag library
  GET  /sandbox/api/world/contact-ways     「联系我」 channel codes the service created
  GET  /sandbox/api/world/join-ways        群活码 join ways the service created, with their groups
  GET  /sandbox/qr/join-way/<config_id>.svg  a join way's stand-in QR code image (its qr_code)
  GET  /sandbox/api/mass-sends             mass sends with their tasks' status
  POST /sandbox/api/mass-sends/<msgid>/confirm   {"userid"}: confirm as that staff member
                                           → 200 counts | 404 | 409 already confirmed/cancelled
  GET  /sandbox/api/group-mass-sends?owner=   unconfirmed group mass sends (group_masssend.py)
  POST /sandbox/api/tokens/expire          expire every access token and JS-SDK ticket now
  POST /sandbox/api/oauth-codes            {"userid"} → {"code"} for auth/getuserinfo (5 min, once)
  GET  /sandbox/api/clock                  the corp's clock (时间快进 offset included, churn_routes.py)
  GET  /sandbox/api/chat-archive?seq=&limit=   the chat archive, decrypted (churn_routes.py)

OAuth (oauth.py): GET /connect/oauth2/authorize (WeCom's authorize page) → 302 to redirect_uri
with a code for the member chosen in the chat window (cookie sandbox_staff) or ?userid=.

Actions (see actions.py): add_customer, customer_deletes_staff, staff_deletes_customer,
edit_customer, join_group, leave_group, create_group, rename_group, change_group_notice,
dismiss_group, owner_confirms_group_mass_send, staff_leaves, staff_joins, staff_sends_app_message,
create_corp_tag,
complete_transfers, join_by_group_code, customer_replies, staff_messages_customer, advance_time
(churn_actions.py). Every action takes ``duplicate`` (deliver its callback twice).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from flask import Blueprint, Flask, abort, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from sandbox import api, churn_routes, community_routes, group_masssend, oauth
from sandbox.actions import ActionError, Actions
from sandbox.callbacks import CallbackSender, Transport
from sandbox.errors import ApiError
from sandbox.world import World

control = Blueprint("sandbox_control", __name__)


def create_simulator_app(world: World, callback_url: str | None = None, *,
                         sender: CallbackSender | None = None, transport: Transport | None = None,
                         duplicate_callbacks: bool = False, asynchronous: bool = True,
                         callback_workers: int = 1, blueprints: Iterable[Blueprint] = ()) -> Flask:
    """``sender`` overrides the one built from ``callback_url`` (tests inject a synchronous one
    posting through a Flask test client); ``blueprints`` lets the sandbox page mount itself."""
    app = Flask("sandbox")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    if sender is None and callback_url:
        cfg = world.config
        sender = CallbackSender(callback_url, corp_id=cfg.corp_id, token=cfg.token, aes_key=cfg.aes_key,
                                feed=world.feed, transport=transport, duplicate=duplicate_callbacks,
                                asynchronous=asynchronous, workers=callback_workers)
    app.extensions["sandbox_world"] = world
    app.extensions["sandbox_actions"] = Actions(world, sender)
    app.extensions["sandbox_sender"] = sender
    app.register_blueprint(api.bp)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(community_routes.bp)
    app.register_blueprint(churn_routes.bp)
    app.register_blueprint(control, url_prefix="/sandbox/api")
    app.register_blueprint(group_masssend.bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    return app


def _world() -> World:
    return current_app.extensions["sandbox_world"]


def _actions() -> Actions:
    return current_app.extensions["sandbox_actions"]


def _int_arg(name: str, default: int, low: int = 0, high: int = 10**9) -> int:
    try:
        return min(max(int(request.args.get(name, default)), low), high)
    except ValueError:
        abort(400, f"{name} must be an integer")


def _json_body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@control.errorhandler(ActionError)
def _action_error(exc: ActionError):
    return jsonify(errors=exc.errors), 422


@control.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return jsonify(error=exc.description), exc.code


@control.get("/")
def index():
    world = _world()
    with world.lock:
        sizes = {"staff": len(world.staff), "customers": len(world.customers),
                 "groups": sum(1 for g in world.groups.values() if not g.dismissed)}
    sender = current_app.extensions["sandbox_sender"]
    return jsonify(corp_id=world.config.corp_id, agent_id=world.config.agent_id, api_base_path="/cgi-bin/",
                   callback_url=sender.url if sender else None, sizes=sizes, actions=Actions.names())


@control.get("/actions")
def list_actions():
    return jsonify(actions=Actions.describe())


@control.post("/actions/<name>")
def run_action(name: str):
    if name not in Actions.names():
        return jsonify(error=f"no action {name}"), 404
    body = request.get_json(silent=True)
    return jsonify(action=name, result=_actions().run(name, body if body is not None else {}))


@control.get("/feed")
def feed():
    world = _world()
    entries = world.feed.since(_int_arg("after", 0), _int_arg("limit", 200, 1, 5000),
                               request.args.get("kind"))
    return jsonify(entries=entries, last_id=world.feed.last_id)


# ---- the world, for the sandbox page ---------------------------------------------------------------

@control.get("/world/staff")
def staff():
    world = _world()
    with world.lock:
        owned = Counter(g.owner for g in world.groups.values() if not g.dismissed)
        rows = [{"userid": s.userid, "name": s.name, "department": s.department, "position": s.position,
                 "avatar": s.avatar, "has_contact": s.has_contact, "active": s.active,
                 "customers": len(s.relations), "groups_owned": owned[s.userid]}
                for s in world.staff.values()]
    return jsonify(staff=rows)


def _relation_json(world: World, rel) -> dict:
    return {"userid": rel.userid, "staff_name": world.staff[rel.userid].name, "remark": rel.remark,
            "description": rel.description, "createtime": rel.createtime, "state": rel.state,
            "add_way": rel.add_way, "tags": [{"id": t, "name": world.tags[t].name} for t in rel.tag_ids
                                             if t in world.tags]}


def _customer_json(world: World, customer) -> dict:
    return {"external_userid": customer.external_userid, "name": customer.name, "avatar": customer.avatar,
            "type": customer.type, "gender": customer.gender, "corp_name": customer.corp_name,
            "follow": [_relation_json(world, rel) for rel in customer.relations]}


def _page() -> tuple[int, int]:
    return _int_arg("page", 1, 1), _int_arg("page_size", 20, 1, 200)


@control.get("/world/customers")
def customers():
    world = _world()
    page, size = _page()
    staff_id, query = request.args.get("staff"), (request.args.get("q") or "").strip()
    with world.lock:
        if staff_id:
            member = world.staff.get(staff_id) or abort(404, f"no member {staff_id}")
            pool = [world.customers[ext] for ext in reversed(member.relations)]  # newest first
        else:
            pool = list(reversed(world.customers.values()))
        if query:
            pool = [c for c in pool if query in c.name or query in c.external_userid
                    or any(query in rel.remark for rel in c.relations)]
        rows = [_customer_json(world, c) for c in pool[(page - 1) * size:page * size]]
    return jsonify(total=len(pool), page=page, page_size=size, customers=rows)


@control.get("/world/customers/<external_userid>")
def customer(external_userid: str):
    world = _world()
    with world.lock:
        found = world.customers.get(external_userid) or abort(404, f"no customer {external_userid}")
        groups = [{"chat_id": g.chat_id, "name": g.name} for g in world.groups.values()
                  if not g.dismissed and external_userid in g.members]
        return jsonify(customer=_customer_json(world, found), groups=groups)


def _group_json(world: World, group) -> dict:
    return {"chat_id": group.chat_id, "name": group.name, "owner": group.owner,
            "owner_name": world.staff[group.owner].name, "notice": group.notice,
            "create_time": group.create_time, "status": group.status, "members": len(group.members),
            "customers": sum(1 for m in group.members.values() if m.type == 2),
            "member_version": group.member_version}


@control.get("/world/groups")
def groups():
    world = _world()
    page, size = _page()
    staff_id = request.args.get("staff")
    with world.lock:
        pool = [g for g in world.groups.values()
                if not g.dismissed and (not staff_id or g.owner == staff_id or staff_id in g.members)]
        rows = [_group_json(world, g) for g in list(reversed(pool))[(page - 1) * size:page * size]]
    return jsonify(total=len(pool), page=page, page_size=size, groups=rows)


@control.get("/world/groups/<chat_id>")
def group(chat_id: str):
    world = _world()
    with world.lock:
        found = world.groups.get(chat_id) or abort(404, f"no group {chat_id}")
        members = []
        for m in found.members.values():
            person = world.staff.get(m.userid) if m.type == 1 else world.customers.get(m.userid)
            members.append({"userid": m.userid, "type": m.type, "name": person.name if person else "",
                            "avatar": person.avatar if person else "", "join_time": m.join_time,
                            "join_scene": m.join_scene, "invitor": m.invitor})
        return jsonify(group={**_group_json(world, found), "dismissed": found.dismissed,
                              "admins": found.admins, "member_list": members})


@control.get("/world/tags")
def tags():
    world = _world()
    with world.lock:
        return jsonify(tag_groups=[
            {"group_id": g.group_id, "name": g.name, "order": g.order,
             "tags": [{"id": t.id, "name": t.name, "order": t.order} for t in g.tags.values()]}
            for g in world.tag_groups.values()])


@control.get("/world/contact-ways")
def contact_ways():
    world = _world()
    with world.lock:
        return jsonify(contact_ways=[{"config_id": w.config_id, "qr_code": w.qr_code, **w.settings}
                                     for w in world.contact_ways.values()])


# ---- mass sends, tokens, OAuth codes ---------------------------------------------------------------

@control.get("/mass-sends")
def mass_sends():
    world = _world()
    with world.lock:
        rows = [{"msgid": m.msgid, "chat_type": m.chat_type, "creator": m.creator,
                 "create_time": int(m.create_time), "text": m.text, "attachments": m.attachments,
                 "cancelled": m.cancelled,
                 "tasks": [{"userid": t.userid, "name": world.staff[t.userid].name, "status": t.status,
                            "recipients": len(t.targets), "send_time": t.send_time}
                           for t in m.tasks.values()]}
                for m in reversed(world.mass_sends.values())]
    return jsonify(mass_sends=rows)


@control.post("/mass-sends/<msgid>/confirm")
def confirm_mass_send(msgid: str):
    userid = _json_body().get("userid")
    if not isinstance(userid, str) or not userid:
        raise ActionError({"userid": "必填"})
    try:
        result = _world().confirm_mass_send(msgid, userid)
    except LookupError as exc:
        return jsonify(error=str(exc)), 404
    except ValueError as exc:
        return jsonify(error=str(exc)), 409
    return jsonify(result=result)


@control.post("/tokens/expire")
def expire_tokens():
    world = _world()
    with world.lock:
        count = world.expire_tokens()
    world.feed.add("tokens_expired", count=count)
    return jsonify(expired=count)


@control.post("/oauth-codes")
def oauth_code():
    world = _world()
    userid = _json_body().get("userid")
    with world.lock:
        try:
            code = world.issue_oauth_code(userid if isinstance(userid, str) else "")
        except ApiError:
            raise ActionError({"userid": f"没有在职成员 {userid}"}) from None
    return jsonify(code=code, userid=userid)
