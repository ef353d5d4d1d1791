"""The simulated corp, in memory, and the WeCom rules that depend on state and time.

One ``World`` is one corp. Every read and write holds ``world.lock`` (an RLock): the API
threads, the control API and the action code all share it, and each holds it only for a
handler's worth of work (never while sleeping or delivering a callback).

Time comes from ``world.now()``: the ``now`` callable (``time.time`` by default; tests move a
fake clock instead of sleeping) plus ``clock_offset``, the sandbox's 「时间快进」. Token expiry,
the welcome-code window, rate-limit windows and bans, the 84061 window, the mass-send dispatch
window, the times in callbacks and in the chat archive all read it.
"""
from __future__ import annotations

import itertools
import random
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sandbox.chat_archive import ChatArchive
from sandbox.errors import ApiError
from sandbox.feed import Feed
from sandbox.masssend import MassSends
from sandbox.model import (
    ContactWay,
    Customer,
    Department,
    GroupChat,
    Member,
    Relation,
    Staff,
    Tag,
    TagGroup,
    Transfer,
    WelcomeCode,
)
from scrm.sandbox_corp import SANDBOX_AES_KEY, SANDBOX_AGENT_ID, SANDBOX_CORP_ID, SANDBOX_SECRET, SANDBOX_TOKEN

ALNUM = string.ascii_letters + string.digits
OAUTH_CODE_TTL = 300        # s (doc 91023)
TRANSFER_WINDOW = 90 * 86400
TRANSFERS_PER_WINDOW = 2    # "90天内…同一个客户最多只能转接两次" (40128)
STALE_CODES_AFTER = 600     # s: welcome/oauth codes forgotten after this (then they answer "unknown")


@dataclass
class WorldConfig:
    """The corp's credentials and the knobs of WeCom's behaviour (defaults: WeCom's own)."""
    corp_id: str = SANDBOX_CORP_ID
    agent_id: int = SANDBOX_AGENT_ID
    secret: str = SANDBOX_SECRET
    token: str = SANDBOX_TOKEN          # callback Token
    aes_key: str = SANDBOX_AES_KEY      # callback EncodingAESKey
    token_ttl: int = 7200               # access_token expires_in
    rate_limit: int = 10_000            # calls per corp per API per minute (docs/wecom/limits.md#rate-limits)
    rate_limit_ban: float = 60.0        # a minute-limit ban lasts 60 s
    welcome_code_ttl: float = 20.0
    not_contact_window: float = 0.0     # s during which externalcontact/get answers 84061 after an add
    groupmsg_dispatch: float = 2.0      # s after add_msg_template during which its queries answer 41063
    latency_ms: tuple[float, float] = (0.0, 0.0)  # per API call, slept in the request thread
    feed_size: int = 5000
    visible_staff_limit: int = 1000     # groupchat/list without owner_filter → 81017 above this
    mass_send_monthly_quota: int | None = None  # per customer/group per month; None = days in month
    media_ttl: float = 3 * 86400        # s a temporary media_id (media/upload) stays valid (40007 after)


class World(MassSends):
    def __init__(self, config: WorldConfig | None = None, now: Callable[[], float] = time.time,
                 seed: int = 42, sleep: Callable[[float], None] = time.sleep):
        self.config = config or WorldConfig()
        self._wall_clock = now
        self.clock_offset = 0  # s the corp's clock runs ahead of ``now`` (advance_time, 时间快进)
        self._sleep = sleep  # the latency's sleep (real time even when the clock is fake)
        self.lock = threading.RLock()
        self.feed = Feed(self.now, self.config.feed_size)
        self.rng = random.Random(seed)   # ids and seeded data: the same seed, the same corp
        self.departments: dict[int, Department] = {}
        self.staff: dict[str, Staff] = {}
        self.customers: dict[str, Customer] = {}
        self.tag_groups: dict[str, TagGroup] = {}
        self.tags: dict[str, Tag] = {}
        self.groups: dict[str, GroupChat] = {}
        self.transfers: dict[tuple[str, str], Transfer] = {}   # (handover, external_userid)
        self.contact_ways: dict[str, ContactWay] = {}
        self.group_welcome_templates: dict[str, dict] = {}
        self.join_ways: dict[str, dict] = {}              # 群活码: config_id → join way (endpoints/join_ways.py)
        self.welcome_codes: dict[str, WelcomeCode] = {}
        self.message_hashes: dict[str, float] = {}         # message/send duplicate check
        self.media: dict[str, tuple[str, float]] = {}        # media_id → (type, uploaded at)
        self._seq = itertools.count(1)
        self._tokens: dict[str, float] = {}              # access_token → expires_at
        self._tickets: dict[str, tuple[str, float]] = {}  # kind → (ticket, expires_at)
        self._rate: dict[str, list[float]] = {}           # api → [window_start, count, banned_until]
        self._not_contact_until: dict[str, float] = {}
        self._oauth_codes: dict[str, tuple[str, float]] = {}
        self._transfer_log: dict[str, list[int]] = {}     # external_userid → transfer start times
        self._latency_rng = random.Random()
        self.chat_archive = ChatArchive(self)              # 会话内容存档 (sandbox/chat_archive.py)
        MassSends.__init__(self)

    def now(self) -> float:
        """The corp's time: the wall clock (or the tests' fake one) plus the 时间快进 offset."""
        return self._wall_clock() + self.clock_offset

    def advance_clock(self, seconds: int) -> None:
        """Move the corp's clock forward (sandbox/churn_actions.py advance_time)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.clock_offset += seconds

    def seed(self, staff: int = 20, customers: int = 3000, groups: int = 60, seed: int = 42) -> World:
        """Fill the world with a deterministic corp (same arguments → same ids and names)."""
        from sandbox.seed import populate

        with self.lock:
            if self.staff or self.customers:
                raise RuntimeError("World.seed() fills an empty world; build a new World to reseed")
            self.rng.seed(seed)
            populate(self, staff=staff, customers=customers, groups=groups)
        return self

    # ---- ids ----------------------------------------------------------------------------------

    def new_id(self, prefix: str, length: int, taken: dict | None = None) -> str:
        """``prefix`` + random [A-Za-z0-9] up to ``length`` chars, unique in ``taken``."""
        while True:
            value = prefix + "".join(self.rng.choices(ALNUM, k=length - len(prefix)))
            if taken is None or value not in taken:
                return value

    def next_seq(self) -> int:
        return next(self._seq)

    # ---- lookups ------------------------------------------------------------------------------

    def member(self, userid: str | None) -> Staff:
        """An active (not resigned) staff member, else 60111."""
        staff = self.staff.get(userid or "")
        if staff is None or not staff.active:
            raise ApiError(60111, f"userid {userid!r}")
        return staff

    def customer(self, external_userid: str | None) -> Customer:
        customer = self.customers.get(external_userid or "")
        if customer is None:
            raise ApiError(40096, f"external_userid {external_userid!r}")
        return customer

    def group(self, chat_id: str | None) -> GroupChat:
        group = self.groups.get(chat_id or "")
        if group is None or group.dismissed:
            raise ApiError(40050, f"chat_id {chat_id!r}")
        return group

    def visible_relations(self, customer: Customer) -> list[Relation]:
        """follow_user as the app sees it: resigned members are outside its visibility."""
        return [rel for rel in customer.relations if self.staff[rel.userid].active]

    def active_staff(self) -> Iterator[Staff]:
        return (staff for staff in self.staff.values() if staff.active)

    def department_leaders(self, dept_id: int) -> list[str]:
        """The sandbox's rule: a department's first active member (in seed order) leads it
        (user/get is_leader_in_dept, department/list department_leader)."""
        first = next((s.userid for s in self.active_staff() if dept_id in s.department), None)
        return [first] if first else []

    # ---- mutations shared by the seed, the actions and the API ---------------------------------

    def add_relation(self, staff: Staff, customer: Customer, *, createtime: int, add_way: int,
                     oper_userid: str, **fields) -> Relation:
        relation = Relation(staff.userid, customer.external_userid, createtime, self.next_seq(),
                            add_way, oper_userid, **fields)
        staff.relations[customer.external_userid] = relation
        customer.relations.append(relation)
        return relation

    def remove_relation(self, relation: Relation) -> None:
        del self.staff[relation.userid].relations[relation.external_userid]
        self.customers[relation.external_userid].relations.remove(relation)
        self.transfers.pop((relation.userid, relation.external_userid), None)

    def add_member(self, group: GroupChat, member: Member) -> None:
        group.members[member.userid] = member
        group.mem_seq += 1

    def remove_member(self, group: GroupChat, userid: str) -> Member:
        member = group.members.pop(userid)
        if userid in group.admins:
            group.admins.remove(userid)
        group.mem_seq += 1
        return member

    def add_tag(self, group: TagGroup, name: str, order: int = 0, tag_id: str | None = None) -> Tag:
        tag = Tag(tag_id or self.new_id("et", 32, self.tags), name, order, int(self.now()), group.group_id)
        group.tags[tag.id] = tag
        self.tags[tag.id] = tag
        return tag

    def delete_tags(self, tag_ids: set[str]) -> None:
        """Gone from the library and, like in WeCom, from every relation (without callbacks)."""
        for tag_id in tag_ids:
            tag = self.tags.pop(tag_id, None)
            if tag is not None:
                group = self.tag_groups[tag.group_id]
                group.tags.pop(tag_id, None)
                if not group.tags:  # WeCom has no empty tag groups
                    del self.tag_groups[group.group_id]
        for staff in self.staff.values():
            for relation in staff.relations.values():
                if relation.tag_ids and not tag_ids.isdisjoint(relation.tag_ids):
                    relation.tag_ids = tuple(t for t in relation.tag_ids if t not in tag_ids)

    def staff_leaves(self, staff: Staff) -> None:
        """离职: the member's customers and groups wait for handover (get_unassigned_list)."""
        staff.left_at = int(self.now())
        for group in self.groups.values():
            if group.owner == staff.userid and not group.dismissed:
                group.status = 1  # 离职待继承

    # ---- access tokens (docs/wecom/api.md#access-token) ----------------------------------------------------------

    def issue_token(self, corpid: str | None, secret: str | None) -> tuple[str, int]:
        if not corpid:
            raise ApiError(41002)
        if not secret:
            raise ApiError(41004)
        if corpid != self.config.corp_id:
            raise ApiError(40013)
        if secret != self.config.secret:
            raise ApiError(40001)
        now = self.now()
        # Within its validity WeCom hands out the same token again, so processes refreshing
        # concurrently don't invalidate each other's token.
        for token, expires_at in self._tokens.items():
            if expires_at > now:
                return token, int(expires_at - now)
        token = secrets.token_urlsafe(96)
        self._tokens[token] = now + self.config.token_ttl
        self._forget_old_tokens()
        return token, self.config.token_ttl

    def _forget_old_tokens(self, keep: int = 100) -> None:
        # Expired tokens answer 42001 rather than 40014 for as long as we remember them.
        while len(self._tokens) > keep:
            del self._tokens[next(iter(self._tokens))]

    def check_token(self, token: str | None) -> None:
        if not token:
            raise ApiError(41001)
        expires_at = self._tokens.get(token)
        if expires_at is None:
            raise ApiError(40014)
        if expires_at <= self.now():
            raise ApiError(42001)

    def expire_tokens(self) -> int:
        """Expire every access token and JS-SDK ticket now (WeCom may do so early, docs/wecom/api.md#access-token)."""
        now = self.now()
        for token in self._tokens:
            self._tokens[token] = min(self._tokens[token], now)
        self._tickets.clear()
        return len(self._tokens)

    def ticket(self, kind: str) -> tuple[str, int]:
        """JS-SDK ticket ("corp" or "agent"), valid token_ttl seconds."""
        now = self.now()
        ticket, expires_at = self._tickets.get(kind, ("", 0.0))
        if expires_at <= now:
            ticket, expires_at = secrets.token_urlsafe(64), now + self.config.token_ttl
            self._tickets[kind] = (ticket, expires_at)
        return ticket, int(expires_at - now)

    # ---- rate limits (docs/wecom/limits.md#rate-limits: per corp per API per minute, 60 s ban) ----------------------

    def check_rate(self, api: str) -> None:
        now = self.now()
        window = self._rate.get(api)
        if window is None or now - window[0] >= 60:
            window = self._rate[api] = [now, 0, 0.0]
        if now < window[2]:
            raise ApiError(45009, f"{api} is banned for {window[2] - now:.0f} s more")
        window[1] += 1
        if window[1] > self.config.rate_limit:
            window[2] = now + self.config.rate_limit_ban
            window[0] = window[2]  # the next window starts when the ban ends
            window[1] = 0
            raise ApiError(45009, f"more than {self.config.rate_limit} calls of {api} in a minute")

    def pause(self) -> None:
        """The configured per-call latency; slept in the request thread, outside the lock."""
        low, high = self.config.latency_ms
        if high > 0:
            self._sleep(self._latency_rng.uniform(low, high) / 1000)

    # ---- welcome codes (docs/wecom/limits.md#welcome-code: once, within 20 s) --------------------------------------

    def issue_welcome_code(self, userid: str, external_userid: str) -> str:
        now = self.now()
        for code in [c for c, w in self.welcome_codes.items() if now - w.issued_at > STALE_CODES_AFTER]:
            del self.welcome_codes[code]
        code = secrets.token_urlsafe(32)
        self.welcome_codes[code] = WelcomeCode(code, userid, external_userid, now)
        return code

    def use_welcome_code(self, code: str) -> WelcomeCode:
        welcome = self.welcome_codes.get(code)
        if welcome is None:
            raise ApiError(41050, "unknown welcome_code")
        if welcome.used_at is not None:
            raise ApiError(41051, "welcome_code already used")
        if self.now() - welcome.issued_at > self.config.welcome_code_ttl:
            raise ApiError(41050, f"welcome_code older than {self.config.welcome_code_ttl:g} s")
        welcome.used_at = self.now()
        return welcome

    # ---- the 84061 window after an add (docs/wecom/api.md#just-added-customers) -----------------

    def hide_contact(self, external_userid: str) -> None:
        if self.config.not_contact_window > 0:
            self._not_contact_until[external_userid] = self.now() + self.config.not_contact_window

    def check_contact_visible(self, external_userid: str) -> None:
        until = self._not_contact_until.get(external_userid)
        if until is None:
            return
        if self.now() < until:
            raise ApiError(84061, "relation not visible yet")
        del self._not_contact_until[external_userid]

    # ---- OAuth codes (auth/getuserinfo) -----------------------------------------------------------

    def issue_oauth_code(self, userid: str) -> str:
        self.member(userid)
        now = self.now()
        for code in [c for c, (_, at) in self._oauth_codes.items() if now - at > STALE_CODES_AFTER]:
            del self._oauth_codes[code]
        code = secrets.token_urlsafe(24)
        self._oauth_codes[code] = (userid, now)
        return code

    def use_oauth_code(self, code: str | None) -> str:
        userid, issued = self._oauth_codes.pop(code or "", ("", 0.0))
        if not userid or self.now() - issued > OAUTH_CODE_TTL:
            raise ApiError(40029)
        return userid

    # ---- transfers (在职 / 离职继承, docs/wecom/api.md#transfers) ------------------------------------------------

    def start_transfer(self, handover: str, takeover: str, external_userid: str, *, resigned: bool) -> int:
        """Start one customer's transfer; the per-customer errcode (0 = started, completes later)."""
        customer = self.customers.get(external_userid)
        if customer is None:
            return 40096
        if handover == takeover:
            return 40130
        if external_userid not in self.staff[handover].relations:
            return 40131
        pending = self.transfers.get((handover, external_userid))
        if pending is not None and pending.status == 2:
            return 40129
        now = int(self.now())
        recent = [t for t in self._transfer_log.get(external_userid, []) if now - t < TRANSFER_WINDOW]
        if len(recent) >= TRANSFERS_PER_WINDOW:
            return 40128
        self._transfer_log[external_userid] = [*recent, now]
        self.transfers[(handover, external_userid)] = Transfer(handover, takeover, external_userid, now,
                                                               resigned)
        return 0

    def unassigned(self) -> list[tuple[str, str, int]]:
        """(handover_userid, external_userid, dimission_time) of resigned members' customers
        not yet handed over."""
        rows = []
        for staff in self.staff.values():
            if staff.left_at is None:
                continue
            for external_userid in staff.relations:
                transfer = self.transfers.get((staff.userid, external_userid))
                if transfer is None or transfer.status in (3, 4):
                    rows.append((staff.userid, external_userid, staff.left_at))
        return rows

    def contact_way_id(self) -> str:
        return "".join(self.rng.choices("0123456789abcdef", k=32))
