"""Sandbox actions for churn (流失预警): customers and staff talking 1:1 (recorded in the chat
archive, announced with ``msgaudit_notify``; sandbox/chat_archive.py) and 「时间快进」, the
corp's clock moved forward so silent customers go dormant.

``advance_time(days)`` moves the simulator's clock (every time it puts in replies, callbacks and
the archive, and every window it checks: tokens and tickets expire, welcome codes go stale…),
completes the transfers waiting for more than 24 h (as WeCom does when the customer does not
refuse; their callbacks follow), and sends the sandbox-only ``sandbox_clock`` callback with the
total offset; the service, in sandbox mode, moves its own clock by the same offset and runs its
periodic sweeps once for the new time (the nightly churn scoring among them). The offset is the
total, so ``days=0`` tells the service again (e.g. if it was down when the clock moved).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sandbox.action_base import ActionBase, ActionError, action
from sandbox.chat_archive import clock_xml

MAX_TEXT = 2000       # characters of a text message
MAX_DAYS = 365        # per advance
TRANSFER_WAIT = 86400  # s a customer has to refuse a transfer; WeCom completes it then
CHINA = timezone(timedelta(hours=8), "CST")


def simulated_time(world) -> dict:
    """The corp's clock for the sandbox page and results: epoch seconds, offset, China time."""
    now = world.now()
    return {"now": int(now), "offset_seconds": int(world.clock_offset),
            "offset_days": round(world.clock_offset / 86400, 2),
            "local": datetime.fromtimestamp(now, UTC).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")}


class ChurnActions(ActionBase):
    def _chat(self, userid: str, external_userid: str, text: str, *, inbound: bool, duplicate: bool) -> dict:
        world = self.world
        with world.lock:
            staff = self._staff(userid)
            customer = self._customer(external_userid)
            if customer.external_userid not in staff.relations:
                raise ActionError({"external_userid": f"不是 {staff.name} 的客户（或已删除好友），不能单聊"})
            if not isinstance(text, str) or not text.strip():
                raise ActionError({"text": "必填"})
            if len(text) > MAX_TEXT:
                raise ActionError({"text": f"不能超过 {MAX_TEXT} 个字"})
            sender, receiver = (external_userid, userid) if inbound else (userid, external_userid)
            message = world.chat_archive.record(sender, receiver, text)
            xml = world.chat_archive.notice_xml()
        return {"userid": userid, "external_userid": external_userid, "msgid": message["msgid"],
                "seq": message["seq"], "msgtime": message["msgtime"], "callbacks": self._emit([xml], duplicate)}

    @action
    def customer_replies(self, userid: str, external_userid: str, text: str, duplicate: bool = False) -> dict:
        """客户在单聊中给成员发消息（回复）：会话内容存档记下这条消息并推送 msgaudit_notify，
        服务拉取后计入流失信号（客户回复）。"""
        return self._chat(userid, external_userid, text, inbound=True, duplicate=duplicate)

    @action
    def staff_messages_customer(self, userid: str, external_userid: str, text: str,
                                duplicate: bool = False) -> dict:
        """成员在单聊中给客户发消息：会话内容存档记下这条消息并推送 msgaudit_notify。"""
        return self._chat(userid, external_userid, text, inbound=False, duplicate=duplicate)

    @action
    def advance_time(self, days: int, duplicate: bool = False) -> dict:
        """时间快进：企业的时钟（模拟器与服务）前进 days 天（0–365；0 表示把当前时间重新告诉服务），
        服务随即按新时间补跑一次定时任务（含夜间流失评分），久未互动的客户因此变为沉睡。"""
        if days < 0 or days > MAX_DAYS:
            raise ActionError({"days": f"应为 0 到 {MAX_DAYS} 之间的整数"})
        world = self.world
        with world.lock:
            world.advance_clock(days * 86400)
            xmls = [clock_xml(world)]
            completed = self._complete_due_transfers()
            xmls += completed[1]
            clock = simulated_time(world)
        return {"days": days, **clock, "transfers_completed": completed[0],
                "callbacks": self._emit(xmls, duplicate)}

    def _complete_due_transfers(self) -> tuple[list[str], list[str]]:
        """WeCom completes a transfer the customer did not refuse within 24 h: those now due
        (external_userids, their callbacks). The caller holds the world lock."""
        world, now = self.world, self._now()
        done, xmls = [], []
        for transfer in [t for t in world.transfers.values() if t.status == 2 and now - t.started_at >= TRANSFER_WAIT]:
            handover = world.staff[transfer.handover_userid]
            takeover = world.staff.get(transfer.takeover_userid)
            relation = handover.relations.get(transfer.external_userid)
            if relation is None or takeover is None or not takeover.active:
                continue  # as complete_transfers: the customer or the takeover member left meanwhile
            done.append(transfer.external_userid)
            xmls += self._take_over(transfer, relation, handover, takeover)  # Actions (actions.py)
        return done, xmls
