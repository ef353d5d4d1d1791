"""What a person playing WeCom can do. Each action changes the world and sends the callback(s)
WeCom would send for it, then returns what happened (ids) for the HTTP layer to show.

``Actions.run(name, params)`` is the single entry point: it checks the parameters against the
action's signature (unknown, missing or mistyped fields → ActionError with a message per field,
in Chinese for the sandbox page), runs the action and records it in the feed. Callbacks are
built while holding the world lock and sent after releasing it.
"""
from __future__ import annotations

from sandbox import callbacks
from sandbox.action_base import ActionError, action
from sandbox.churn_actions import ChurnActions
from sandbox.community_actions import CommunityActions
from sandbox.group_actions import GroupActions
from sandbox.group_masssend import GroupMassSendActions
from sandbox.model import Customer, Relation, Staff, TagGroup, Transfer
from sandbox.seed import customer_name

__all__ = ["ActionError", "Actions"]


class Actions(GroupActions, GroupMassSendActions, CommunityActions, ChurnActions):
    """Everything a person playing WeCom can do (the group actions come from GroupActions, the
    owner's confirmation of group mass sends from GroupMassSendActions, joining through a group
    code from CommunityActions, 1:1 messages and 时间快进 from ChurnActions)."""

    # ---- customers ----------------------------------------------------------------------------

    @action
    def add_customer(self, userid: str | None = None, config_id: str | None = None, state: str | None = None,
                     external_userid: str | None = None, name: str | None = None, gender: int | None = None,
                     customer_type: int = 1, welcome_code: bool = True, duplicate: bool = False) -> dict:
        """客户添加成员：扫「联系我」二维码（config_id，成员与 state 取自渠道码）或直接添加 userid。
        external_userid 为已有客户（再添加另一位成员），省略则新建客户。"""
        world = self.world
        with world.lock:
            add_way = 1  # 扫描二维码
            if config_id is not None:
                way = world.contact_ways.get(config_id)
                if way is None:
                    raise ActionError({"config_id": f"没有渠道码 {config_id}"})
                users = [u for u in way.settings.get("user") or []
                         if u in world.staff and world.staff[u].active]
                if userid is None and not users:
                    raise ActionError({"config_id": "渠道码没有在职的成员"})
                if userid is not None and userid not in users:
                    raise ActionError({"userid": "该成员不在渠道码的成员中"})
                userid = userid or users[0]
                state = way.settings.get("state") or state
            if userid is None:
                raise ActionError({"userid": "必填（或提供 config_id）"})
            staff = self._staff(userid)
            if state is not None and len(state) > 30:
                raise ActionError({"state": "不能超过 30 个字符"})
            if customer_type not in (1, 2) or gender not in (None, 0, 1, 2):
                raise ActionError({"customer_type" if customer_type not in (1, 2) else "gender": "取值无效"})
            new = external_userid is None
            if new:
                customer = Customer(world.new_id("wm", 32, world.customers), name or customer_name(world.rng),
                                    customer_type, gender if gender is not None else world.rng.choice((1, 2)))
                world.customers[customer.external_userid] = customer
            else:
                customer = self._customer(external_userid)
                if customer.external_userid in staff.relations:
                    raise ActionError({"external_userid": f"已经是 {staff.name} 的客户"})
            world.add_relation(staff, customer, createtime=self._now(), add_way=add_way,
                               oper_userid=customer.external_userid, state=state or "")
            code = world.issue_welcome_code(staff.userid, customer.external_userid) if welcome_code else None
            world.hide_contact(customer.external_userid)
            xml = callbacks.external_contact(self.corp_id, "add_external_contact", self._now(), staff.userid,
                                             customer.external_userid, state=state or "", welcome_code=code)
        return {"external_userid": customer.external_userid, "name": customer.name, "userid": staff.userid,
                "state": state or "", "welcome_code": code, "new_customer": new,
                "callbacks": self._emit([xml], duplicate)}

    def _end_relation(self, userid: str, external_userid: str, change_type: str, duplicate: bool) -> dict:
        with self.world.lock:
            staff = self._staff(userid, contact=False)
            customer = self._customer(external_userid)
            relation = staff.relations.get(customer.external_userid)
            if relation is None:
                raise ActionError({"external_userid": f"不是 {staff.name} 的客户"})
            self.world.remove_relation(relation)
            xml = callbacks.external_contact(self.corp_id, change_type, self._now(), userid, external_userid)
        return {"userid": userid, "external_userid": external_userid,
                "callbacks": self._emit([xml], duplicate)}

    @action
    def customer_deletes_staff(self, userid: str, external_userid: str, duplicate: bool = False) -> dict:
        """客户删除了跟进成员（del_follow_user）。"""
        return self._end_relation(userid, external_userid, "del_follow_user", duplicate)

    @action
    def staff_deletes_customer(self, userid: str, external_userid: str, duplicate: bool = False) -> dict:
        """成员删除了客户（del_external_contact）。"""
        return self._end_relation(userid, external_userid, "del_external_contact", duplicate)

    @action
    def edit_customer(self, userid: str, external_userid: str, add_tags: list[str] | None = None,
                      remove_tags: list[str] | None = None, remark: str | None = None,
                      description: str | None = None, duplicate: bool = False) -> dict:
        """成员在客户端修改客户的企业标签、备注或描述（edit_external_contact）。"""
        world = self.world
        with world.lock:
            staff = self._staff(userid)
            relation = staff.relations.get(self._customer(external_userid).external_userid)
            if relation is None:
                raise ActionError({"external_userid": f"不是 {staff.name} 的客户"})
            unknown = [t for t in (add_tags or []) + (remove_tags or []) if t not in world.tags]
            if unknown:
                raise ActionError({"add_tags" if set(unknown) & set(add_tags or []) else "remove_tags":
                                   f"没有标签 {', '.join(unknown)}"})
            if not (add_tags or remove_tags) and remark is None and description is None:
                raise ActionError({"_": "没有要修改的内容"})
            if remark is not None and len(remark) > 20:
                raise ActionError({"remark": "不能超过 20 个字"})
            if description is not None and len(description) > 150:
                raise ActionError({"description": "不能超过 150 个字"})
            tags = [t for t in relation.tag_ids if t not in (remove_tags or [])]
            relation.tag_ids = tuple(tags + [t for t in dict.fromkeys(add_tags or []) if t not in tags])
            if remark is not None:
                relation.remark = remark
            if description is not None:
                relation.description = description
            xml = callbacks.external_contact(self.corp_id, "edit_external_contact", self._now(), userid,
                                             external_userid)
            tag_names = [world.tags[t].name for t in relation.tag_ids]
        return {"userid": userid, "external_userid": external_userid, "tags": tag_names,
                "remark": relation.remark, "callbacks": self._emit([xml], duplicate)}

    # ---- staff, tags, transfers ---------------------------------------------------------------

    @action
    def staff_leaves(self, userid: str, duplicate: bool = False) -> dict:
        """成员离职（change_contact delete_user）；其客户与群进入待分配（离职继承）。"""
        world = self.world
        with world.lock:
            staff = self._staff(userid, contact=False)
            world.staff_leaves(staff)
            xml = callbacks.contact(self.corp_id, "delete_user", self._now(), userid)
            groups = sum(1 for g in world.groups.values() if g.owner == userid and not g.dismissed)
        return {"userid": userid, "pending_customers": len(staff.relations), "pending_groups": groups,
                "callbacks": self._emit([xml], duplicate)}

    @action
    def staff_joins(self, name: str, userid: str | None = None, department: int = 6,
                    duplicate: bool = False) -> dict:
        """新成员加入企业并开通客户联系（change_contact create_user）。"""
        world = self.world
        with world.lock:
            if not name or len(name) > 64:
                raise ActionError({"name": "必填，不超过 64 个字"})
            if department not in world.departments:
                raise ActionError({"department": f"没有部门 {department}"})
            while userid is None:
                candidate = f"user{world.rng.randrange(10**6):06d}"
                userid = None if candidate in world.staff else candidate
            if userid in world.staff:  # WeCom keeps a resigned member's userid reserved too
                raise ActionError({"userid": "已存在"})
            staff = Staff(userid, name, [department], "销售顾问", 1, f"137{world.rng.randrange(10**8):08d}", True)
            world.staff[userid] = staff
            xml = callbacks.contact(self.corp_id, "create_user", self._now(), userid, Name=name,
                                    Department=str(department), MainDepartment=department,
                                    IsLeaderInDept="0", Position=staff.position, Mobile=staff.mobile,
                                    Gender=staff.gender, Email=staff.email, Status=1, Avatar=staff.avatar)
        return {"userid": userid, "name": name, "callbacks": self._emit([xml], duplicate)}

    @action
    def staff_sends_app_message(self, userid: str, content: str, duplicate: bool = False) -> dict:
        """成员在应用会话里给应用发文本消息（MsgType=text）。"""
        world = self.world
        with world.lock:
            self._staff(userid, contact=False)
            if not content:
                raise ActionError({"content": "必填"})
            msg_id = world.rng.getrandbits(63)
            xml = callbacks.app_text(self.corp_id, world.config.agent_id, userid, content, msg_id,
                                     self._now())
        return {"userid": userid, "msg_id": str(msg_id), "callbacks": self._emit([xml], duplicate)}

    @action
    def create_corp_tag(self, group_name: str, tag_name: str, duplicate: bool = False) -> dict:
        """管理员在管理后台新建企业标签（change_external_tag create；新标签组时为 tag_group）。"""
        world = self.world
        with world.lock:
            if not group_name or not tag_name or len(group_name) > 30 or len(tag_name) > 30:
                raise ActionError({"tag_name": "标签组与标签名必填，不超过 30 个字"})
            group = next((g for g in world.tag_groups.values() if g.name == group_name), None)
            new_group = group is None
            if new_group:
                group = TagGroup(world.new_id("et", 32, world.tag_groups), group_name, 0, self._now())
                world.tag_groups[group.group_id] = group
            elif any(t.name == tag_name for t in group.tags.values()):
                raise ActionError({"tag_name": "该标签组已有同名标签"})
            tag = world.add_tag(group, tag_name)
            # A new group announces itself (with its first tag); a tag added to a group announces the tag.
            item_id, tag_type = (group.group_id, "tag_group") if new_group else (tag.id, "tag")
            xml = callbacks.external_tag(self.corp_id, "create", self._now(), item_id, tag_type)
        return {"group_id": group.group_id, "tag_id": tag.id, "callbacks": self._emit([xml], duplicate)}

    @action
    def complete_transfers(self, refuse: bool = False, external_userids: list[str] | None = None,
                           duplicate: bool = False) -> dict:
        """让等待中的客户继承立即完成（WeCom 24 小时后自动完成）；refuse=true 表示客户拒绝（transfer_fail）；
        external_userids 只处理这些客户（默认全部等待中的）。"""
        world = self.world
        xmls, done = [], []
        only = set(external_userids) if external_userids is not None else None
        with world.lock:
            for transfer in [t for t in world.transfers.values() if t.status == 2
                             and (only is None or t.external_userid in only)]:
                handover = world.staff[transfer.handover_userid]
                takeover = world.staff.get(transfer.takeover_userid)
                relation = handover.relations.get(transfer.external_userid)
                if relation is None or takeover is None or not takeover.active:
                    continue  # the customer left meanwhile, or the takeover member did
                done.append(transfer.external_userid)
                if refuse:
                    transfer.status = 3
                    xmls.append(callbacks.external_contact(self.corp_id, "transfer_fail", self._now(),
                                                           takeover.userid, transfer.external_userid,
                                                           fail_reason="customer_refused"))
                else:
                    xmls += self._take_over(transfer, relation, handover, takeover)
        return {"external_userids": done, "status": 3 if refuse else 1,
                "callbacks": self._emit(xmls, duplicate)}

    def _take_over(self, transfer: Transfer, relation: Relation, handover: Staff,
                   takeover: Staff) -> list[str]:
        """The relation moves to the takeover member (remark and tags go with it)."""
        world, now = self.world, self._now()
        transfer.status, transfer.takeover_time = 1, now
        del handover.relations[relation.external_userid]
        customer = world.customers[relation.external_userid]
        customer.relations.remove(relation)
        xmls = []
        if relation.external_userid not in takeover.relations:
            world.add_relation(takeover, customer, createtime=now, add_way=202, oper_userid=takeover.userid,
                               remark=relation.remark, description=relation.description,
                               remark_mobiles=relation.remark_mobiles, tag_ids=relation.tag_ids)
            xmls.append(callbacks.external_contact(self.corp_id, "add_external_contact", now, takeover.userid,
                                                   relation.external_userid))
        if not transfer.resigned:  # a resigned member is gone: nobody to tell
            xmls.append(callbacks.external_contact(self.corp_id, "del_external_contact", now, handover.userid,
                                                   relation.external_userid, source="DELETE_BY_TRANSFER"))
        return xmls
