"""Sidebar sessions end at once when the member leaves or is disabled (every request checks), and
can be revoked server-side (a per-member session version): issue #10, security 2."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import FollowUp, Staff
from tests.api.factories import gen_customer, gen_relation, gen_staff
from tests.conftest import TEST_CORP_ID
from tests.helpers import event_xml, post_callback, run_jobs
from tests.sidebar.conftest import login
from tests.sidebar.test_oauth import getuserinfo_replies, start


@pytest.fixture
def customer(app):
    gen_staff(userid="zhangsan", name="张三", status=1)
    customer = gen_customer(external_userid="wmMINE")
    gen_relation(customer, "zhangsan")
    return customer


def view(client):
    return client.get("/sidebar/api/customers/wmMINE")


def add_follow_up(client):
    return client.post("/sidebar/api/customers/wmMINE/follow-ups", json={"kind": "note", "content": "回访"})


def deliver_contact_event(app, change_type: str, **fields) -> None:
    """A change_contact callback end to end (web → inbox → worker), as WeCom sends it."""
    xml = event_xml("change_contact", change_type, UserID="zhangsan", **fields)
    assert post_callback(app.test_client(), xml).status_code == 200
    db.session.rollback()  # the worker uses its own session; end ours before it writes
    run_jobs(app)
    db.session.expire_all()


def version_of(userid: str) -> int:
    return db.session.scalar(select(Staff.session_version).filter_by(corp_id=TEST_CORP_ID, userid=userid))


def assert_signed_out(client) -> None:
    for response in (view(client), add_follow_up(client), client.get("/sidebar/api/me")):
        assert response.status_code == 401
        assert response.json == {"code": 401, "message": "登录已过期，请重新打开侧边栏",
                                 "login_url": "/sidebar/oauth/start"}
    page = client.get("/sidebar/")  # the page itself starts OAuth again
    assert page.status_code == 302 and urlsplit(page.headers["Location"]).path == "/sidebar/oauth/start"


def test_a_member_who_leaves_loses_the_sidebar_at_once(customer, staff_client, app):
    assert view(staff_client).status_code == 200
    deliver_contact_event(app, "delete_user")
    assert_signed_out(staff_client)
    assert db.session.scalars(select(FollowUp)).all() == []
    assert version_of("zhangsan") == 1
    deliver_contact_event(app, "delete_user")  # WeCom redelivers: nothing changes twice
    assert version_of("zhangsan") == 1


@pytest.mark.parametrize("status", [2, 5])  # disabled, left
def test_a_disabled_member_loses_the_sidebar_and_enabling_does_not_revive_old_sessions(customer, staff_client,
                                                                                       app, status):
    deliver_contact_event(app, "update_user", Status=status)
    assert_signed_out(staff_client)
    deliver_contact_event(app, "update_user", Status=1)
    assert version_of("zhangsan") == 2
    assert view(staff_client).status_code == 401  # the old session stays ended
    login(staff_client, "zhangsan", version=2)  # what signing in again gives
    assert view(staff_client).status_code == 200


def test_an_update_that_leaves_the_status_alone_keeps_sessions(customer, staff_client, app):
    deliver_contact_event(app, "update_user", Position="总监", Status=1)
    assert version_of("zhangsan") == 0
    assert view(staff_client).status_code == 200


def test_every_request_reads_the_member_row(customer, staff_client):
    """Whatever marks the member gone (a sync, an operator's fix), the next request sees it."""
    assert view(staff_client).status_code == 200
    row = db.session.scalar(select(Staff).filter_by(userid="zhangsan"))
    row.status = 2
    db.session.commit()
    assert view(staff_client).status_code == 401


def test_revoke_sessions_command_signs_the_member_out_everywhere(customer, staff_client, runner, app):
    other = app.test_client()
    login(other, "zhangsan")
    colleague = app.test_client()
    login(colleague, "lisi")  # no staff row yet (signed in before the first sync): version 0
    assert view(staff_client).status_code == 200 and add_follow_up(other).status_code == 201

    result = runner.invoke(args=["scrm", "staff", "revoke-sessions", "zhangsan"])
    assert (result.exit_code, result.output.strip()) == (0, "sidebar sessions of zhangsan revoked")
    db.session.expire_all()
    assert version_of("zhangsan") == 1
    assert_signed_out(staff_client)
    assert_signed_out(other)
    assert colleague.get("/sidebar/api/me").status_code == 200  # someone else's sessions stay

    runner.invoke(args=["scrm", "staff", "revoke-sessions", "lisi"])  # a member we hold no row for
    db.session.expire_all()
    assert version_of("lisi") == 1
    assert colleague.get("/sidebar/api/me").status_code == 401


def test_signing_in_records_the_version_and_a_member_who_left_cannot_sign_in(client, wecom, runner):
    gen_staff(userid="zhangsan", name="张三", status=1)
    runner.invoke(args=["scrm", "staff", "revoke-sessions", "zhangsan"])
    getuserinfo_replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"},
                        {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    _, query = start(client)
    assert client.get("/sidebar/oauth/callback", query_string={"code": "C1", "state": query["state"]}
                      ).status_code == 302
    with client.session_transaction() as sess:
        assert sess["sidebar"]["ver"] == 1
    assert client.get("/sidebar/api/me").status_code == 200

    row = db.session.scalar(select(Staff).filter_by(userid="zhangsan"))
    row.status = 5
    db.session.commit()
    fresh = client.application.test_client()
    _, query = start(fresh)
    refused = fresh.get("/sidebar/oauth/callback", query_string={"code": "C2", "state": query["state"]})
    assert refused.status_code == 403 and "已停用或已离职" in refused.get_data(as_text=True)
    assert fresh.get("/sidebar/api/me").status_code == 401
