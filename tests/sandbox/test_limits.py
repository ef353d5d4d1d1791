"""Rate limits (45009, 60 s ban) and the optional 84061 window after an add."""
from __future__ import annotations

from tests.sandbox.conftest import caller_for, make_world


def test_the_call_over_the_minute_limit_answers_45009_until_the_ban_ends(clock):
    world = make_world(clock, rate_limit=5)
    sim = caller_for(world)
    sim.fetch_token()
    codes = [sim.get("externalcontact/get_follow_user_list")["errcode"] for _ in range(6)]
    assert codes == [0, 0, 0, 0, 0, 45009]
    # Per API: another API is not affected.
    assert sim.get("user/list", department_id=1)["errcode"] == 0
    clock.advance(59)
    assert sim.get("externalcontact/get_follow_user_list")["errcode"] == 45009  # still banned
    clock.advance(1)
    assert [sim.get("externalcontact/get_follow_user_list")["errcode"] for _ in range(5)] == [0] * 5
    assert sim.get("externalcontact/get_follow_user_list")["errcode"] == 45009


def test_the_window_is_per_minute(clock):
    world = make_world(clock, rate_limit=3)
    sim = caller_for(world)
    sim.fetch_token()
    for _ in range(3):
        assert sim.get("externalcontact/get_follow_user_list")["errcode"] == 0
    clock.advance(60)
    assert sim.get("externalcontact/get_follow_user_list")["errcode"] == 0


def test_externalcontact_get_answers_84061_for_a_while_after_an_add(clock):
    world = make_world(clock, not_contact_window=5)
    sim = caller_for(world)
    staff = next(s for s in world.staff.values() if s.has_contact)
    added = sim.action("add_customer", userid=staff.userid)
    existing = next(iter(world.customers))

    assert sim.get("externalcontact/get", external_userid=added["external_userid"])["errcode"] == 84061
    assert sim.get("externalcontact/get", external_userid=existing)["errcode"] == 0
    clock.advance(5)
    reply = sim.get("externalcontact/get", external_userid=added["external_userid"])
    assert reply["errcode"] == 0
    assert [f["userid"] for f in reply["follow_user"]] == [staff.userid]


def test_no_84061_window_by_default(sim, world):
    staff = next(s for s in world.staff.values() if s.has_contact)
    added = sim.action("add_customer", userid=staff.userid, state="ad_baidu")
    reply = sim.get("externalcontact/get", external_userid=added["external_userid"])
    assert reply["errcode"] == 0
    (follow,) = reply["follow_user"]
    assert (follow["userid"], follow["state"], follow["add_way"]) == (staff.userid, "ad_baidu", 1)
    assert follow["oper_userid"] == added["external_userid"]


def test_latency_is_slept_for_every_call(clock):
    from sandbox.app import create_simulator_app
    from sandbox.world import World, WorldConfig

    slept: list[float] = []
    world = World(WorldConfig(latency_ms=(50, 150)), now=clock, sleep=slept.append)
    world.seed(staff=3, customers=5, groups=1)
    sim = create_simulator_app(world).test_client()
    for _ in range(20):
        sim.get("/cgi-bin/gettoken")
    assert len(slept) == 20 and all(0.05 <= s <= 0.15 for s in slept) and len(set(slept)) > 1
