"""The service against the simulator, in-process: an action's callback goes into the service's
inbox, the service's job processes it and calls the simulated API (routed to the simulator's test
client at the HTTP boundary), and the database ends up matching the simulated world."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import Customer, FollowRelation, GroupChat, GroupMember
from tests.helpers import run_jobs
from tests.sandbox.conftest import api_calls, link


@pytest.fixture
def linked(app, client, clock):
    """(world, actions): the simulator speaks as the TEST corp, both ways."""
    world, actions, mock = link(client, clock)
    with mock:
        yield world, actions


def test_an_added_customer_reaches_the_services_database(app, linked):
    world, actions = linked
    staff = next(s for s in world.staff.values() if s.has_contact)
    added = actions.run("add_customer", {"userid": staff.userid, "state": "expo_2024", "name": "沙盒客户"})
    run_jobs(app)

    customer = db.session.scalar(select(Customer).filter_by(external_userid=added["external_userid"]))
    assert customer is not None and customer.name == "沙盒客户"
    relation = db.session.scalar(select(FollowRelation).filter_by(external_userid=added["external_userid"]))
    assert (relation.userid, relation.state, relation.status) == (staff.userid, "expo_2024", "active")
    assert [c["path"] for c in api_calls(world) if c["errcode"] == 0][-1] == "externalcontact/get"


def test_a_group_join_reaches_the_services_database(app, linked):
    world, actions = linked
    group = next(iter(world.groups.values()))
    outsider = next(ext for ext in world.customers if ext not in group.members)
    joined = actions.run("join_group", {"chat_id": group.chat_id, "member_ids": [outsider]})
    run_jobs(app)

    chat = db.session.scalar(select(GroupChat).filter_by(chat_id=group.chat_id))
    assert chat.member_version == joined["member_version"] and chat.owner == group.owner
    members = set(db.session.scalars(select(GroupMember.member_id).filter_by(chat_id=group.chat_id)))
    assert members == set(group.members)
