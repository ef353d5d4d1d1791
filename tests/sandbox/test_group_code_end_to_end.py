"""A group code end to end against the simulator: created through the Open API (add_join_way,
get_join_way with the simulator's QR code), customers scan it until its groups are full, the room
WeCom auto-creates joins the code in our database, and the joins count in the code's stats."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import GroupMember
from tests.api.factories import gen_group, gen_token
from tests.helpers import run_jobs
from tests.sandbox.test_service_end_to_end import linked  # noqa: F401 (fixture)


def test_a_group_code_fills_its_group_and_the_auto_created_room_is_picked_up(app, client, linked):  # noqa: F811
    world, actions = linked
    group = next(iter(world.groups.values()))
    gen_group(chat_id=group.chat_id, owner=group.owner)  # the service knows the group (as after a sync)
    token = gen_token()
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/group-codes", headers=headers, json={
        "name": "福利群活码", "chat_ids": [group.chat_id], "room_base_name": "福利群", "room_base_id": 1,
        "state": "gc_e2e"})
    assert created.status_code == 201, created.json
    assert "/sandbox/qr/join-way/" in created.json["qr_code"]

    capacity = len(group.members) + 1
    first = actions.run("join_by_group_code", {"config_id": created.json["config_id"], "capacity": capacity})
    second = actions.run("join_by_group_code", {"config_id": created.json["config_id"], "capacity": capacity})
    assert first["chat_id"] == group.chat_id and second["created_room"] is not None
    run_jobs(app)

    code = client.get(f"/api/v1/group-codes/{created.json['id']}", headers=headers).json
    assert code["chats"] == [{"chat_id": group.chat_id, "source": "operator"},
                             {"chat_id": second["created_room"], "source": "auto_created"}]
    states = db.session.scalars(select(GroupMember.state).where(
        GroupMember.member_id.in_([first["external_userid"], second["external_userid"]]))).all()
    assert sorted(states) == ["gc_e2e", "gc_e2e"]
    # The simulator's clock stands at 2025-10-09 (tests/sandbox/conftest.py T0).
    stats = client.get(f"/api/v1/group-codes/{created.json['id']}/stats?since=2025-10-01&until=2025-10-31",
                       headers=headers).json
    assert (stats["joins"], stats["current_members"]) == (2, 2)
    assert [d["joins"] for d in stats["days"] if d["joins"]] == [2]
