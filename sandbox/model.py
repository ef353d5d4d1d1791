"""The simulated corp's records. Slotted dataclasses: a 100,000-customer world must stay small.

Values that can be derived from an id (avatars, unionids, member versions) are properties
computed on demand instead of stored strings.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


def _digest(*parts: object, size: int = 12) -> str:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=size).hexdigest()


@dataclass(slots=True)
class Department:
    id: int
    name: str
    parentid: int
    order: int


@dataclass(slots=True)
class Relation:
    """A follow relation (one staff member ↔ one customer): a follow_user / follow_info entry."""
    userid: str
    external_userid: str
    createtime: int
    seq: int            # world-wide creation order: the stable key cursors page by
    add_way: int
    oper_userid: str
    state: str = ""
    remark: str = ""
    description: str = ""
    remark_corp_name: str = ""
    remark_mobiles: tuple[str, ...] = ()
    tag_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class Staff:
    userid: str
    name: str
    department: list[int]
    position: str
    gender: int                      # 1 male, 2 female
    mobile: str
    has_contact: bool                # 配置了客户联系功能 (listed by get_follow_user_list)
    relations: dict[str, Relation] = field(default_factory=dict)  # external_userid → relation, by seq
    left_at: int | None = None       # dimission time: the member resigned (离职)

    @property
    def main_department(self) -> int:
        return self.department[0]

    @property
    def email(self) -> str:
        return f"{self.userid}@sandbox.example.com"

    @property
    def avatar(self) -> str:
        return f"https://wework.qpic.cn/wwhead/{_digest('staff', self.userid, size=16)}/0"

    @property
    def active(self) -> bool:
        return self.left_at is None


@dataclass(slots=True)
class Customer:
    external_userid: str
    name: str
    type: int                        # 1 微信用户, 2 企业微信用户
    gender: int                      # 0 unknown, 1 male, 2 female
    corp_name: str = ""              # type 2 only
    corp_full_name: str = ""
    position: str = ""
    relations: list[Relation] = field(default_factory=list)  # in the order they were added

    @property
    def avatar(self) -> str:
        if self.type == 2:
            return f"http://p.qlogo.cn/bizmail/{_digest('c', self.external_userid, size=16)}/0"
        return f"http://wx.qlogo.cn/mmhead/{_digest('c', self.external_userid, size=20)}/0"

    @property
    def unionid(self) -> str:
        """Only WeChat users have one (and only when the corp bound a 微信开发者ID; ours did)."""
        return "" if self.type != 1 else "o" + _digest("u", self.external_userid, size=14)[:27]


@dataclass(slots=True)
class Tag:
    id: str
    name: str
    order: int
    create_time: int
    group_id: str


@dataclass(slots=True)
class TagGroup:
    group_id: str
    name: str
    order: int
    create_time: int
    tags: dict[str, Tag] = field(default_factory=dict)


@dataclass(slots=True)
class Member:
    """A group chat member: staff (type 1) or external contact (type 2)."""
    userid: str
    type: int
    join_time: int
    join_scene: int                  # 1 直接邀请, 2 邀请链接, 3 扫描群二维码
    invitor: str = ""
    group_nickname: str = ""
    state: str = ""


@dataclass(slots=True)
class GroupChat:
    chat_id: str
    name: str
    owner: str
    create_time: int
    seq: int
    notice: str = ""
    members: dict[str, Member] = field(default_factory=dict)
    admins: list[str] = field(default_factory=list)
    status: int = 0                  # 0 正常, 1 离职待继承, 2 离职继承中, 3 离职继承完成
    mem_seq: int = 0                 # bumped on every membership change
    dismissed: bool = False

    @property
    def member_version(self) -> str:
        return hashlib.md5(f"{self.chat_id}:{self.mem_seq}".encode()).hexdigest()


@dataclass(slots=True)
class WelcomeCode:
    code: str
    userid: str
    external_userid: str
    issued_at: float
    used_at: float | None = None


@dataclass(slots=True)
class MassTask:
    """One staff member's part of a mass send: what they must confirm in the client."""
    userid: str
    targets: list[str]               # external_userids (single) or chat_ids (group)
    status: int = 0                  # 0 未发送, 2 已发送
    send_time: int = 0
    results: dict[str, int] = field(default_factory=dict)  # target → 1 sent, 2 not a friend, 3 quota


@dataclass(slots=True)
class MassSend:
    msgid: str
    chat_type: str                   # single | group
    creator: str                     # the sender given, or "" (the corp)
    create_time: float
    text: dict | None
    attachments: list[dict]
    tasks: dict[str, MassTask] = field(default_factory=dict)
    create_type: int = 0             # 0 企业发表 (every API-created one)
    cancelled: bool = False
    reminders: int = 0


@dataclass(slots=True)
class Transfer:
    handover_userid: str
    takeover_userid: str
    external_userid: str
    started_at: int
    resigned: bool                   # 离职继承 (else 在职继承)
    status: int = 2                  # 1 接替完毕, 2 等待接替, 3 客户拒绝, 4 接替成员客户达到上限
    takeover_time: int = 0


@dataclass(slots=True)
class ContactWay:
    config_id: str
    settings: dict[str, Any]         # the add/update body as sent (type, scene, user, state, ...)
    qr_code: str
