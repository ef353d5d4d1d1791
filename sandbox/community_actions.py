"""Sandbox action 「客户扫群活码入群」: a customer joins through a group code (join way). The
code's groups fill in order up to a capacity (200 members here; WeCom's own is larger); when all
are full and auto_create_room is on, WeCom opens room ``room_base_name`` + ``room_base_id`` (the
number then increments) owned by the owner of the code's last group, and adds it to the code.
Callbacks as WeCom sends them: change_external_chat create for a new room, then update
add_member with JoinScene 3; groupchat/get shows the member's ``state``
(docs/wecom/callbacks.md#group-events)."""
from __future__ import annotations

from sandbox import callbacks
from sandbox.action_base import ActionBase, ActionError, action
from sandbox.model import Customer, GroupChat, Member
from sandbox.seed import customer_name

GROUP_CAPACITY = 200   # members per group in the sandbox (configurable per call)
MAX_CODE_CHATS = 5     # a join way lists at most 5 groups: the oldest full one makes room
QR_SCAN = (3, 3)       # groupchat/get join_scene 3 扫码, callback JoinScene 3


class CommunityActions(ActionBase):
    def _new_room(self, way: dict, owner: str) -> GroupChat:
        world = self.world
        name = f"{way['room_base_name']}{way['room_base_id']}"
        way["room_base_id"] += 1
        room = GroupChat(world.new_id("wr", 30, world.groups), name, owner, self._now(), world.next_seq())
        room.members[owner] = Member(owner, 1, self._now(), 1)
        room.mem_seq = 1
        world.groups[room.chat_id] = room
        way["chat_id_list"].append(room.chat_id)
        if len(way["chat_id_list"]) > MAX_CODE_CHATS:
            way["chat_id_list"].pop(0)
        return room

    @action
    def join_by_group_code(self, config_id: str, external_userid: str | None = None, name: str | None = None,
                           capacity: int = GROUP_CAPACITY, duplicate: bool = False) -> dict:
        """客户扫群活码入群：依次进入群活码中未满的群（每群上限 capacity 人）；都满且开启自动建群时，
        新建「room_base_name + 序号」群（create 回调），再以扫码方式入群（update add_member，JoinScene 3）。"""
        world = self.world
        if capacity < 2:
            raise ActionError({"capacity": "至少为 2（群主加一位客户）"})
        with world.lock:
            way = world.join_ways.get(config_id)
            if way is None:
                raise ActionError({"config_id": f"没有群活码 {config_id}"})
            if external_userid is None:
                customer = Customer(world.new_id("wm", 32, world.customers), name or customer_name(world.rng), 1,
                                    world.rng.choice((1, 2)))
                world.customers[customer.external_userid] = customer
            else:
                customer = self._customer(external_userid)
            groups = [world.groups[c] for c in way["chat_id_list"]
                      if c in world.groups and not world.groups[c].dismissed]
            if any(customer.external_userid in g.members for g in groups):
                raise ActionError({"external_userid": "已在该群活码的群中"})
            group = next((g for g in groups if len(g.members) < capacity), None)
            plaintexts, created = [], None
            if group is None:
                if not way["auto_create_room"] or not groups:
                    raise ActionError({"config_id": "群活码的群都已满（未开启自动建群）"})
                group = created = self._new_room(way, groups[-1].owner)
                plaintexts.append(callbacks.external_chat(self.corp_id, "create", self._now(), group.chat_id))
            last = group.member_version
            world.add_member(group, Member(customer.external_userid, 2, self._now(), QR_SCAN[0],
                                           state=way["state"]))
            plaintexts.append(callbacks.external_chat(
                self.corp_id, "update", self._now(), group.chat_id, update_detail="add_member",
                join_scene=QR_SCAN[1], members=[customer.external_userid], last_mem_ver=last,
                cur_mem_ver=group.member_version))
        return {"external_userid": customer.external_userid, "name": customer.name, "chat_id": group.chat_id,
                "group_name": group.name, "members": len(group.members), "state": way["state"],
                "created_room": created.chat_id if created else None,
                "callbacks": self._emit(plaintexts, duplicate)}
