"""The group owner's side of group mass sends (客户群群发, docs/wecom/api.md#group-mass-send-results):
the action that confirms as the owner (for scripts and tests) and the control API the sandbox
page lists the owner's pending tasks with.

  GET  /sandbox/api/group-mass-sends?owner=<userid>
        the unconfirmed group tasks (of one owner): msgid, owner, text, attachments, chats
        [{chat_id, name}], create_time
Action: owner_confirms_group_mass_send(userid, msgid?) confirms one task (or all the owner's).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from sandbox.action_base import ActionBase, ActionError, action
from sandbox.world import World

bp = Blueprint("sandbox_group_mass", __name__)


class GroupMassSendActions(ActionBase):
    @action
    def owner_confirms_group_mass_send(self, userid: str, msgid: str | None = None) -> dict:
        """群主在客户端确认群发到客户群（不填 msgid 则确认其全部待发送任务）。

        每个群的结果：1 已发送，2 失败（群已解散或已不是群主），3 本月已收到群发上限。"""
        world = self.world
        with world.lock:
            self._staff(userid, contact=False)
            pending = [msg.msgid for msg, _ in world.pending_group_tasks(userid) if msgid in (None, msg.msgid)]
        if not pending:
            raise ActionError({"msgid" if msgid else "userid": "没有待群主确认的群发"})
        confirmed = []
        for one in pending:
            try:
                confirmed.append(world.confirm_mass_send(one, userid))
            except (LookupError, ValueError) as exc:
                raise ActionError({"msgid": str(exc)}) from None
        return {"userid": userid, "confirmed": confirmed}


@bp.get("/sandbox/api/group-mass-sends")
def pending_group_mass_sends():
    world: World = current_app.extensions["sandbox_world"]
    owner = request.args.get("owner") or None
    with world.lock:
        rows = []
        for msg, task in world.pending_group_tasks(owner):
            chats = [{"chat_id": chat_id, "name": world.groups[chat_id].name if chat_id in world.groups else ""}
                     for chat_id in task.targets]
            rows.append({"msgid": msg.msgid, "owner": task.userid, "owner_name": world.staff[task.userid].name,
                         "create_time": int(msg.create_time), "text": msg.text,
                         "attachments": msg.attachments, "chats": chats})
    return jsonify(group_mass_sends=rows)
