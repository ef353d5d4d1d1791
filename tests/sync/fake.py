"""A small WeCom for the sync tests, served through `responses` callbacks (reply shapes from
docs/wecom/api.md#batch-customer-read, #customer-groups): the tests change its data between runs and inject
errors, and read back
every call made (path + body or query).

Pages are `page_size` items whatever `limit` asks, so a handful of rows exercises cursor paging.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import responses

from tests.conftest import WECOM_BASE


@dataclass
class Relation:
    userid: str
    external_userid: str
    remark: str = ""
    tag_ids: list[str] = field(default_factory=list)
    createtime: int = 1700000000
    add_way: int = 1
    state: str | None = None


@dataclass
class Group:
    chat_id: str
    owner: str
    name: str
    members: list[dict]
    member_version: str = "v1"


class FakeWeCom:
    def __init__(self, mock: responses.RequestsMock, *, page_size: int = 2) -> None:
        self.mock = mock
        self.page_size = page_size
        self.departments = [{"id": 1, "name": "总部", "parentid": 0, "order": 100},
                            {"id": 2, "name": "销售部", "parentid": 1, "order": 90}]
        self.users: list[dict] = []
        self.follow_users: list[str] = []
        self.customers: dict[str, dict] = {}
        self.relations: list[Relation] = []
        self.tag_groups: list[dict] = []
        self.groups: dict[str, Group] = {}
        self.unlicensed: list[str] = []
        self.calls: list[tuple[str, dict]] = []
        # path -> list of (call number at which to fail, errcode); call numbers count from 1
        self._faults: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._chat_errors: dict[str, int] = {}
        self._count: dict[str, int] = defaultdict(int)
        self.on_call: dict[str, Callable[[dict], None]] = {}  # path -> hook run before replying
        for method, path in (("GET", "department/list"), ("GET", "user/list"),
                             ("GET", "externalcontact/get_follow_user_list"), ("GET", "externalcontact/get"),
                             ("POST", "externalcontact/get_corp_tag_list"),
                             ("POST", "externalcontact/batch/get_by_user"),
                             ("POST", "externalcontact/groupchat/list"), ("POST", "externalcontact/groupchat/get")):
            mock.add_callback(method, WECOM_BASE + path, callback=self._handler(path))

    # ---- building the corp ------------------------------------------------------------------

    def add_staff(self, userid: str, *, name: str | None = None, contact: bool = True, department: int = 2) -> None:
        user = {"userid": userid, "department": [department], "main_department": department, "status": 1,
                "position": "销售", "gender": "1"}
        if name is not None:
            user["name"] = name
        self.users.append(user)
        if contact:
            self.follow_users.append(userid)

    def add_customer(self, external_userid: str, name: str, *userids: str, remark: str = "",
                     tag_ids: tuple[str, ...] = ()) -> None:
        self.customers[external_userid] = {"external_userid": external_userid, "name": name, "type": 1,
                                           "gender": 1, "avatar": f"https://img/{external_userid}"}
        for userid in userids:
            self.relations.append(Relation(userid, external_userid, remark=remark, tag_ids=list(tag_ids)))

    def remove_relation(self, userid: str, external_userid: str) -> None:
        self.relations = [r for r in self.relations if (r.userid, r.external_userid) != (userid, external_userid)]

    def relation(self, userid: str, external_userid: str) -> Relation:
        return next(r for r in self.relations if (r.userid, r.external_userid) == (userid, external_userid))

    def add_tag_group(self, group_id: str, name: str, tags: dict[str, str]) -> None:
        self.tag_groups.append({"group_id": group_id, "group_name": name, "create_time": 1700000000, "order": 1,
                                "deleted": False, "tag": [{"id": tag_id, "name": tag_name, "create_time": 1700000000,
                                                           "order": 1, "deleted": False}
                                                          for tag_id, tag_name in tags.items()]})

    def add_group(self, chat_id: str, owner: str, name: str, *member_ids: str, version: str = "v1") -> None:
        members = [{"userid": owner, "type": 1, "join_time": 1700000000, "join_scene": 1, "name": owner}]
        members += [{"userid": m, "type": 2, "join_time": 1700000100, "join_scene": 3, "group_nickname": ""}
                    for m in member_ids]
        self.groups[chat_id] = Group(chat_id, owner, name, members, version)

    # ---- errors -------------------------------------------------------------------------------

    def fail(self, path: str, errcode: int, *, at_call: int = 1, times: int = 1) -> None:
        """The `at_call`-th call of `path` (and the `times - 1` after it) answers errcode."""
        for n in range(at_call, at_call + times):
            self._faults[path].append((n, errcode))

    def fail_chat(self, chat_id: str, errcode: int) -> None:
        self._chat_errors[chat_id] = errcode

    # ---- reading the calls ---------------------------------------------------------------------

    def called(self, path: str) -> list[dict]:
        return [args for called_path, args in self.calls if called_path == path]

    def paths(self) -> list[str]:
        return [path for path, _ in self.calls]

    # ---- the API --------------------------------------------------------------------------------

    def _handler(self, path: str):
        def handle(request):
            query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items() if k != "access_token"}
            body = json.loads(request.body) if request.body else {}
            args = {**query, **body}
            self.calls.append((path, args))
            self._count[path] += 1
            hook = self.on_call.get(path)
            if hook is not None:
                hook(args)
            for n, errcode in self._faults.get(path, []):
                if n == self._count[path]:
                    return 200, {}, json.dumps({"errcode": errcode, "errmsg": f"error {errcode}"})
            reply = getattr(self, "_" + path.replace("/", "_"))(args)
            return 200, {}, json.dumps({"errcode": 0, "errmsg": "ok", **reply}, ensure_ascii=False)
        return handle

    def _page(self, rows: list, cursor: str | None) -> tuple[list, str]:
        start = int(cursor[1:]) if cursor else 0
        end = start + self.page_size
        return rows[start:end], (f"c{end}" if end < len(rows) else "")

    def _department_list(self, args: dict) -> dict:
        return {"department": self.departments}

    def _user_list(self, args: dict) -> dict:
        return {"userlist": self.users}

    def _externalcontact_get_follow_user_list(self, args: dict) -> dict:
        return {"follow_user": self.follow_users}

    def _externalcontact_get_corp_tag_list(self, args: dict) -> dict:
        return {"tag_group": self.tag_groups}

    def _follow_info(self, relation: Relation) -> dict:
        info = {"userid": relation.userid, "remark": relation.remark, "description": "",
                "createtime": relation.createtime, "tag_id": list(relation.tag_ids), "remark_mobiles": [],
                "oper_userid": relation.userid, "add_way": relation.add_way}
        if relation.state:
            info["state"] = relation.state
        return info

    def _externalcontact_batch_get_by_user(self, args: dict) -> dict:
        userids = args["userid_list"]
        rows = [r for u in userids for r in self.relations if r.userid == u]
        page, next_cursor = self._page(rows, args.get("cursor"))
        return {"external_contact_list": [{"external_contact": self.customers[r.external_userid],
                                           "follow_info": self._follow_info(r)} for r in page],
                "next_cursor": next_cursor,
                "fail_info": {"unlicensed_userid_list": [u for u in userids if u in self.unlicensed]}}

    def _externalcontact_get(self, args: dict) -> dict:
        external_userid = args["external_userid"]
        relations = [r for r in self.relations if r.external_userid == external_userid]
        if not relations:
            return {"errcode": 84061, "errmsg": "not external contact"}
        names = {t["id"]: (t["name"], g["group_name"]) for g in self.tag_groups for t in g["tag"]}
        follow = []
        for r in relations:
            info = self._follow_info(r)
            info.pop("tag_id")
            info["tags"] = [{"group_name": names[t][1], "tag_name": names[t][0], "type": 1, "tag_id": t}
                            for t in r.tag_ids]
            follow.append(info)
        return {"external_contact": self.customers[external_userid], "follow_user": follow, "next_cursor": ""}

    def _externalcontact_groupchat_list(self, args: dict) -> dict:
        owners = set((args.get("owner_filter") or {}).get("userid_list") or [])
        rows = [g for g in self.groups.values() if g.owner in owners]
        page, next_cursor = self._page(rows, args.get("cursor"))
        return {"group_chat_list": [{"chat_id": g.chat_id, "status": 0} for g in page], "next_cursor": next_cursor}

    def _externalcontact_groupchat_get(self, args: dict) -> dict:
        chat_id = args["chat_id"]
        if chat_id in self._chat_errors:
            return {"errcode": self._chat_errors[chat_id], "errmsg": "chat error"}
        group = self.groups.get(chat_id)
        if group is None:
            return {"errcode": 40050, "errmsg": "chatid not found"}
        return {"group_chat": {"chat_id": group.chat_id, "name": group.name, "owner": group.owner,
                               "create_time": 1690000000, "notice": "", "member_list": group.members,
                               "admin_list": [], "member_version": group.member_version}}
