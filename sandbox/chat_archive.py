"""The simulated corp's chat archive (会话内容存档) and the sandbox clock's announcement.

WeCom keeps a corp's 1:1 and group messages for the chat archive app; a service pulls them with
Tencent's native SDK (GetChatData after a ``seq``, then RSA + DecryptData per item,
docs/wecom/api.md#chat-archive) when ``msgaudit_notify`` says there are new ones. The simulator
records the messages its actions play (``customer_replies``, ``staff_messages_customer``) as the
plaintext DecryptData would give, with the outer ``seq``:

    {"seq": 1, "msgid": "…_external", "action": "send", "from": "wm…", "tolist": ["zhangsan"],
     "roomid": "", "msgtime": 1760000000000, "msgtype": "text", "text": {"content": "…"}}

and serves them decrypted at ``GET /sandbox/api/chat-archive?seq=N&limit=L`` (sandbox/
churn_routes.py): the service's SimulatorArchiveSource (scrm/services/events/sandbox.py) stands
in for the SDK. Differences from WeCom: a notice per message (WeCom: at most one per 15 s), no
customer consent needed, messages kept (the newest MAX_MESSAGES) rather than ~5 days.

``clock_xml`` is the sandbox-only callback (``Event=sandbox_clock``) telling the service how far
the corp's clock runs ahead of the wall clock (advance_time).
"""
from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from sandbox.callback_xml import event_xml

if TYPE_CHECKING:
    from sandbox.world import World

MAX_MESSAGES = 100_000
MAX_PULL = 1000  # GetChatData's limit


class ChatArchive:
    """The messages, oldest first, with consecutive ``seq`` from 1 (kept on the World)."""

    def __init__(self, world: World):
        self.world = world
        self.messages: list[dict] = []
        self.last_seq = 0
        self._last_notice = 0

    def record(self, sender: str, receiver: str, text: str) -> dict:
        """A 1:1 text message (the caller holds the world lock)."""
        world = self.world
        at = world.now()
        self.last_seq += 1
        message = {"seq": self.last_seq, "msgid": f"{world.rng.getrandbits(63)}_{int(at)}_external",
                   "action": "send", "from": sender, "tolist": [receiver], "roomid": "",
                   "msgtime": int(at * 1000), "msgtype": "text", "text": {"content": text}}
        self.messages.append(message)
        if len(self.messages) > MAX_MESSAGES:
            del self.messages[:len(self.messages) - MAX_MESSAGES]
        return message

    def after(self, seq: int, limit: int) -> list[dict]:
        """Messages with a seq above ``seq``, oldest first, at most ``limit`` (≤ MAX_PULL)."""
        start = bisect_right(self.messages, seq, key=lambda m: m["seq"])
        return [dict(m) for m in self.messages[start:start + min(limit, MAX_PULL)]]

    def notice_xml(self) -> str:
        """``msgaudit_notify`` (docs/wecom/callbacks.md#chat-archive-notice). Its CreateTime only
        ever grows: two notices in one second would be one plaintext, deduplicated by the service."""
        self._last_notice = max(int(self.world.now()), self._last_notice + 1)
        world = self.world
        return event_xml(world.config.corp_id, "msgaudit_notify", create_time=self._last_notice,
                         AgentID=world.config.agent_id)

    def restore(self, messages: list[dict]) -> None:
        self.messages = [dict(m) for m in messages]
        self.last_seq = max((m["seq"] for m in self.messages), default=0)


def clock_xml(world: World) -> str:
    """The sandbox-only callback: the corp's clock runs ``OffsetSeconds`` ahead of the wall clock."""
    return event_xml(world.config.corp_id, "sandbox_clock", create_time=int(world.now()),
                     OffsetSeconds=int(world.clock_offset))
