"""A group code's joins by local day (Asia/Shanghai and another zone): members carrying the
code's state, the leaves of those members, the members still in through it."""
from __future__ import annotations

from datetime import datetime

from scrm import clock
from scrm.config import override
from scrm.extensions import db
from scrm.models import GroupCode, GroupMember
from tests.api.factories import gen_group
from tests.conftest import TEST_CORP_ID


def gen_code(state: str = "gc1") -> GroupCode:
    code = GroupCode(corp_id=TEST_CORP_ID, config_id="CFG1", name="码", state=state, room_base_name="群")
    db.session.add(code)
    db.session.commit()
    return code


def member(chat_id: str, member_id: str, joined: datetime, quit: datetime | None = None, state: str = "gc1") -> None:
    db.session.add(GroupMember(corp_id=TEST_CORP_ID, chat_id=chat_id, member_id=member_id, type=2, join_scene=3,
                               state=state, join_time=joined, quit_time=quit))
    db.session.commit()


def seed() -> GroupCode:
    code = gen_code()
    chat = gen_group().chat_id
    # UTC times: 2024-05-01 16:30 UTC is 2024-05-02 00:30 in Shanghai.
    member(chat, "wm1", datetime(2024, 5, 1, 15, 59))                              # May 1 (23:59 local)
    member(chat, "wm2", datetime(2024, 5, 1, 16, 30), quit=datetime(2024, 5, 3, 2, 0))  # May 2, left May 3
    member(chat, "wm3", datetime(2024, 5, 2, 1, 0))                                # May 2
    member(chat, "wm4", datetime(2024, 5, 2, 1, 0), state="other")                 # another code
    member(chat, "wm5", datetime(2024, 4, 20, 1, 0), quit=datetime(2024, 5, 1, 17, 0))  # joined before, left May 2
    return code


def days(reply) -> dict[str, tuple[int, int]]:
    return {d["date"]: (d["joins"], d["leaves"]) for d in reply.json["days"]}


def test_joins_and_leaves_by_shanghai_day(app, api):
    code = seed()
    reply = api("GET", f"/group-codes/{code.id}/stats?since=2024-05-01&until=2024-05-03")
    assert reply.status_code == 200, reply.json
    assert days(reply) == {"2024-05-01": (1, 0), "2024-05-02": (2, 1), "2024-05-03": (0, 1)}
    assert (reply.json["joins"], reply.json["leaves"], reply.json["current_members"]) == (3, 2, 2)
    assert reply.json["timezone"] == "Asia/Shanghai" and reply.json["state"] == "gc1"


def test_the_days_follow_the_corp_time_zone(app, api):
    code = seed()
    override(app, TIMEZONE="America/New_York")  # UTC-4 in May
    reply = api("GET", f"/group-codes/{code.id}/stats?since=2024-05-01&until=2024-05-02")
    assert days(reply) == {"2024-05-01": (3, 1), "2024-05-02": (0, 1)}


def test_default_range_is_the_last_30_local_days(app, api):
    code = seed()
    clock.freeze(datetime(2024, 5, 2, 17, 0))  # May 3 01:00 in Shanghai
    reply = api("GET", f"/group-codes/{code.id}/stats")
    assert (reply.json["since"], reply.json["until"], len(reply.json["days"])) == ("2024-04-04", "2024-05-03", 30)
    assert reply.json["joins"] == 4  # wm5 joined on April 20 too


def test_bad_ranges_are_422_and_unknown_codes_404(app, api):
    code = seed()
    assert api("GET", f"/group-codes/{code.id}/stats?since=2024-05-03&until=2024-05-01").status_code == 422
    assert api("GET", f"/group-codes/{code.id}/stats?since=2023-01-01&until=2024-05-01").status_code == 422
    assert api("GET", f"/group-codes/{code.id}/stats?since=yesterday").status_code == 422
    future = api("GET", f"/group-codes/{code.id}/stats?since=2999-01-01")
    assert future.status_code == 422 and "since" in future.json["errors"]["query"]
    assert api("GET", "/group-codes/99999/stats").status_code == 404
