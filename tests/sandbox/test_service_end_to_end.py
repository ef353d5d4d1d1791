"""The service against the simulator, in-process: an action's callback goes into the service's
inbox, the service's job processes it and calls the simulated API (routed to the simulator's test
client at the HTTP boundary), and the database ends up matching the simulated world."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import responses
from sqlalchemy import select

from sandbox.actions import Actions
from sandbox.app import create_simulator_app
from sandbox.callbacks import CallbackSender, flask_client_transport
from scrm.extensions import db
from scrm.models import Customer, FollowRelation, GroupChat, GroupMember
from tests.conftest import TEST_AES_KEY, TEST_CORP_ID, TEST_SECRET, TEST_TOKEN, WECOM_BASE
from tests.helpers import run_jobs
from tests.sandbox.conftest import api_calls, make_world


@pytest.fixture
def linked(app, client, clock):
    """(world, actions): the simulator speaks as the TEST corp, both ways."""
    world = make_world(clock, corp_id=TEST_CORP_ID, secret=TEST_SECRET, token=TEST_TOKEN,
                       aes_key=TEST_AES_KEY)
    sim = create_simulator_app(world).test_client()

    def forward(request):
        url = urlsplit(request.url)
        reply = sim.open(url.path, method=request.method, query_string=url.query, data=request.body or b"")
        return reply.status_code, {"Content-Type": reply.content_type}, reply.data

    sender = CallbackSender("http://service.test/wecom/callback", corp_id=TEST_CORP_ID, token=TEST_TOKEN,
                            aes_key=TEST_AES_KEY, feed=world.feed, transport=flask_client_transport(client),
                            asynchronous=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST"):
            mock.add_callback(method, re.compile(re.escape(WECOM_BASE) + ".*"), callback=forward)
        yield world, Actions(world, sender)


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
