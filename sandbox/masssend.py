"""Mass sends (企业群发, docs/wecom/api.md#mass-send): a task per staff member that waits for them to confirm.

``add_msg_template`` only creates tasks (status 0 未发送). Nothing is sent until a person
playing the staff member confirms (``confirm_mass_send``, offered by the sandbox page); then the
task turns 2 (已发送) and every recipient gets a send status: 1 sent, 2 no longer a friend (or
the group is gone), 3 refused because the recipient already received its quota this month.
Queries within ``groupmsg_dispatch`` seconds of creation answer 41063, as WeCom does.

Group sends (chat_type group, docs/wecom/api.md#group-mass-send-results): one task for the
sender, who must own the groups; at confirmation a group dismissed or no longer owned by the
sender fails (2), one that already received ``mass_send_monthly_quota`` mass messages this
month fails with 3. A sender who has left the company can no longer confirm: their unconfirmed
task reports every recipient as failed (2).
"""
from __future__ import annotations

import calendar
import time
from typing import TYPE_CHECKING

from sandbox.errors import ApiError, invalid
from sandbox.model import MassSend, MassTask

if TYPE_CHECKING:
    from sandbox.model import Relation
    from sandbox.world import World

CST = 8 * 3600  # WeCom's months are China Standard Time months


def _matches(tag_ids: tuple[str, ...], tag_filter: dict | None) -> bool:
    """tag_filter.group_list: every group must match; a group matches if any of its tags does."""
    if not tag_filter:
        return True
    for group in tag_filter.get("group_list") or []:
        wanted = group.get("tag_list") or []
        if wanted and not set(wanted).intersection(tag_ids):
            return False
    return True


class MassSends:
    """Mixed into World (uses its lock, clock, feed and records)."""

    def __init__(self) -> None:
        self.mass_sends: dict[str, MassSend] = {}
        self._received: dict[str, tuple[tuple[int, int], int]] = {}  # target → (month, count)

    def _latest_follower(self: World, external_userid: str) -> Relation | None:
        # "仅会推送给最后跟客户进行聊天互动的企业成员": we have no chats, the latest add stands in.
        relations = self.visible_relations(self.customers[external_userid])
        return max(relations, key=lambda rel: rel.createtime) if relations else None

    def create_mass_send(self: World, *, chat_type: str, sender: str | None, external_userids: list | None,
                         chat_ids: list | None, tag_filter: dict | None, text: dict | None,
                         attachments: list[dict]) -> tuple[MassSend, list[str]]:
        """The task (per staff member) and the fail_list; 41048 when nobody can receive it."""
        targets: dict[str, list[str]] = {}
        fail_list: list[str] = []
        if chat_type == "group":
            if not sender:
                raise invalid("sender is required when chat_type is group")
            owner = self.member(sender)
            owned = [g.chat_id for g in self.groups.values() if g.owner == owner.userid and not g.dismissed]
            for chat_id in owned if chat_ids is None else chat_ids:
                group = self.groups.get(chat_id)
                if group is None or group.dismissed or group.owner != owner.userid:
                    fail_list.append(chat_id)
                else:
                    targets.setdefault(owner.userid, []).append(chat_id)
        else:
            staff = self.member(sender) if sender else None
            if external_userids is None:
                pool = list(staff.relations) if staff else list(self.customers)
            else:
                pool = external_userids
            for external_userid in pool:
                if external_userid not in self.customers:
                    fail_list.append(external_userid)
                    continue
                relation = (staff.relations.get(external_userid) if staff
                            else self._latest_follower(external_userid))
                if relation is None:
                    fail_list.append(external_userid)
                elif _matches(relation.tag_ids, tag_filter):
                    targets.setdefault(relation.userid, []).append(external_userid)
        if not targets:
            raise ApiError(41048)
        msg = MassSend(self.new_id("msg", 30, self.mass_sends), chat_type, sender or "", self.now(),
                       text, attachments)
        msg.tasks = {userid: MassTask(userid, items) for userid, items in targets.items()}
        self.mass_sends[msg.msgid] = msg
        self.feed.add("mass_send_created", msgid=msg.msgid, chat_type=chat_type, sender=sender,
                      text=text, attachments=attachments, fail_list=len(fail_list),
                      tasks={userid: len(task.targets) for userid, task in msg.tasks.items()})
        return msg, fail_list

    def dispatched(self: World, msgid: str | None) -> MassSend:
        """The mass send for the query APIs: 41047 unknown, 41063 still being dispatched."""
        msg = self.mass_sends.get(msgid or "")
        if msg is None:
            raise ApiError(41047)
        if self.now() - msg.create_time < self.config.groupmsg_dispatch:
            raise ApiError(41063)
        return msg

    def _quota_left(self: World, target: str, now: float) -> bool:
        tm = time.gmtime(now + CST)
        month = (tm.tm_year, tm.tm_mon)
        quota = self.config.mass_send_monthly_quota or calendar.monthrange(*month)[1]
        seen_month, count = self._received.get(target, (month, 0))
        count = count if seen_month == month else 0
        if count >= quota:
            return False
        self._received[target] = (month, count + 1)
        return True

    def confirm_mass_send(self: World, msgid: str, userid: str) -> dict:
        """The staff member confirms their task in the client: the messages go out.

        LookupError: no such mass send / no task for that member; ValueError: already done."""
        with self.lock:
            msg = self.mass_sends.get(msgid)
            if msg is None:
                raise LookupError(f"no mass send {msgid}")
            task = msg.tasks.get(userid)
            if task is None:
                raise LookupError(f"{userid} has no task in mass send {msgid}")
            if msg.cancelled:
                raise ValueError("the mass send was cancelled")
            if task.status == 2:
                raise ValueError(f"{userid} already confirmed mass send {msgid}")
            now = self.now()
            staff = self.staff[userid]
            if not staff.active:
                raise ValueError(f"{userid} has left the company and cannot confirm")
            for target in task.targets:
                if msg.chat_type == "group":
                    group = self.groups.get(target)
                    reachable = group is not None and not group.dismissed and group.owner == userid
                else:
                    reachable = target in staff.relations
                task.results[target] = (1 if self._quota_left(target, now) else 3) if reachable else 2
            task.status, task.send_time = 2, int(now)
            counts = {name: sum(1 for s in task.results.values() if s == code)
                      for name, code in (("sent", 1), ("not_friend", 2), ("quota_exceeded", 3))}
            self.feed.add("mass_send_confirmed", msgid=msgid, userid=userid, chat_type=msg.chat_type,
                          text=msg.text, attachments=msg.attachments, **counts)
            return {"msgid": msgid, "userid": userid, **counts}

    def send_status(self: World, task: MassTask, target: str) -> int:
        """A recipient's status for get_groupmsg_send_result: an unconfirmed task of a member
        who has left fails (2), since nobody can confirm it any more."""
        if task.status == 0 and not self.staff[task.userid].active:
            return 2
        return task.results.get(target, 0)

    def pending_group_tasks(self: World, userid: str | None = None) -> list[tuple[MassSend, MassTask]]:
        """Unconfirmed group-send tasks (of one owner), oldest first."""
        return [(msg, task) for msg in self.mass_sends.values() if msg.chat_type == "group" and not msg.cancelled
                for task in msg.tasks.values()
                if task.status == 0 and (userid is None or task.userid == userid)]
