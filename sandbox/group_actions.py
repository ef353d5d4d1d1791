"""Customer-group actions of the sandbox: join, leave, create, rename, change the notice,
dismiss; each sends the change_external_chat callback WeCom would send."""
from __future__ import annotations

from collections.abc import Callable

from sandbox import callbacks
from sandbox.action_base import ActionBase, ActionError, action
from sandbox.model import GroupChat, Member

# scene → (groupchat/get member join_scene, callback JoinScene): the two use different scales
# (docs/wecom/callbacks.md#group-events)
JOIN_SCENES = {"invite": (1, 0), "link": (2, 0), "qrcode": (3, 3)}


class GroupActions(ActionBase):
    # ---- groups -------------------------------------------------------------------------------

    def _member(self, member_id: str, invitor: str, join_scene: int) -> Member:
        if member_id in self.world.staff:
            self._staff(member_id, "member_ids", contact=False)
            return Member(member_id, 1, self._now(), join_scene, invitor=invitor if join_scene != 3 else "")
        self._customer(member_id, "member_ids")
        return Member(member_id, 2, self._now(), join_scene, invitor=invitor if join_scene != 3 else "")

    @action
    def join_group(self, chat_id: str, member_ids: list[str], scene: str = "invite",
                   invitor: str | None = None, duplicate: bool = False) -> dict:
        """客户（或成员）入群：scene 为 invite 直接邀请 / link 邀请链接 / qrcode 扫码（update add_member）。"""
        world = self.world
        if scene not in JOIN_SCENES:
            raise ActionError({"scene": "应为 invite、link 或 qrcode"})
        if not member_ids:
            raise ActionError({"member_ids": "至少一位"})
        member_scene, callback_scene = JOIN_SCENES[scene]
        with world.lock:
            group = self._group(chat_id)
            if invitor is not None:
                self._staff(invitor, "invitor", contact=False)
            already = [m for m in member_ids if m in group.members]
            if already:
                raise ActionError({"member_ids": f"已在群中：{', '.join(already)}"})
            members = [self._member(m, invitor or group.owner, member_scene)
                       for m in dict.fromkeys(member_ids)]
            last = group.member_version
            for member in members:
                world.add_member(group, member)
            xml = callbacks.external_chat(self.corp_id, "update", self._now(), chat_id,
                                          update_detail="add_member", join_scene=callback_scene,
                                          members=[m.userid for m in members], last_mem_ver=last,
                                          cur_mem_ver=group.member_version)
        return {"chat_id": chat_id, "member_ids": [m.userid for m in members],
                "member_version": group.member_version, "callbacks": self._emit([xml], duplicate)}

    @action
    def leave_group(self, chat_id: str, member_ids: list[str], removed: bool = False,
                    duplicate: bool = False) -> dict:
        """成员退群（removed=true 表示被群主/管理员移出）（update del_member）。"""
        world = self.world
        with world.lock:
            group = self._group(chat_id)
            missing = [m for m in member_ids if m not in group.members]
            if missing or not member_ids:
                raise ActionError({"member_ids": f"不在群中：{', '.join(missing)}" if missing else "至少一位"})
            if group.owner in member_ids:
                raise ActionError({"member_ids": "群主不能退群（先转让群主或解散）"})
            last = group.member_version
            for member_id in dict.fromkeys(member_ids):
                world.remove_member(group, member_id)
            xml = callbacks.external_chat(self.corp_id, "update", self._now(), chat_id,
                                          update_detail="del_member", quit_scene=1 if removed else 0,
                                          members=list(dict.fromkeys(member_ids)), last_mem_ver=last,
                                          cur_mem_ver=group.member_version)
        return {"chat_id": chat_id, "member_ids": member_ids, "member_version": group.member_version,
                "callbacks": self._emit([xml], duplicate)}

    @action
    def create_group(self, owner: str, name: str = "", member_ids: list[str] | None = None,
                     duplicate: bool = False) -> dict:
        """成员新建客户群（create）。"""
        world = self.world
        with world.lock:
            staff = self._staff(owner, "owner")
            if len(name) > 50:
                raise ActionError({"name": "不能超过 50 个字"})
            group = GroupChat(world.new_id("wr", 30, world.groups), name, staff.userid, self._now(),
                              world.next_seq())
            group.members[staff.userid] = Member(staff.userid, 1, self._now(), 1)
            for member_id in dict.fromkeys(member_ids or []):
                if member_id != staff.userid:
                    group.members[member_id] = self._member(member_id, staff.userid, 1)
            group.mem_seq = len(group.members)
            world.groups[group.chat_id] = group
            xml = callbacks.external_chat(self.corp_id, "create", self._now(), group.chat_id)
        return {"chat_id": group.chat_id, "name": name, "owner": owner, "members": len(group.members),
                "callbacks": self._emit([xml], duplicate)}

    def _group_update(self, chat_id: str, detail: str, apply: Callable[[GroupChat], None],
                      duplicate: bool) -> dict:
        with self.world.lock:
            group = self._group(chat_id)
            apply(group)
            xml = callbacks.external_chat(self.corp_id, "update", self._now(), chat_id, update_detail=detail)
        return {"chat_id": chat_id, "name": group.name, "notice": group.notice, "owner": group.owner,
                "callbacks": self._emit([xml], duplicate)}

    @action
    def rename_group(self, chat_id: str, name: str, duplicate: bool = False) -> dict:
        """修改群名（update change_name）。"""
        if len(name) > 50:
            raise ActionError({"name": "不能超过 50 个字"})
        return self._group_update(chat_id, "change_name", lambda g: setattr(g, "name", name), duplicate)

    @action
    def change_group_notice(self, chat_id: str, notice: str, duplicate: bool = False) -> dict:
        """修改群公告（update change_notice）。"""
        return self._group_update(chat_id, "change_notice", lambda g: setattr(g, "notice", notice), duplicate)

    @action
    def dismiss_group(self, chat_id: str, duplicate: bool = False) -> dict:
        """群主解散客户群（dismiss）。"""
        with self.world.lock:
            group = self._group(chat_id)
            group.dismissed = True
            xml = callbacks.external_chat(self.corp_id, "dismiss", self._now(), chat_id)
        return {"chat_id": chat_id, "callbacks": self._emit([xml], duplicate)}
