"""The sidebar's group view: who may open it, counts, this week's joins and leaves, members."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import AuditLog, StaffRole
from tests.api.factories import gen_customer, gen_group, gen_member, gen_relation, gen_staff
from tests.sidebar.conftest import login

XSS = "<script>alert(1)</script>"


def _group():
    now = utcnow()
    gen_staff(userid="zhangsan", name="张三")
    group = gen_group(name=XSS, owner="zhangsan", notice="每周五发福利")
    mine, other = gen_customer(name="客户甲"), gen_customer(name="客户乙")
    gen_relation(mine, "zhangsan")
    gen_member(group, "zhangsan", type=1, join_time=now - timedelta(days=30))
    gen_member(group, "lisi", type=1, join_time=now - timedelta(days=30))
    gen_member(group, mine.external_userid, type=2, join_time=now - timedelta(days=2), join_scene=3)
    gen_member(group, other.external_userid, type=2, join_time=now - timedelta(days=20))
    gen_member(group, "wmgone", type=2, join_time=now - timedelta(days=20), quit_time=now - timedelta(days=1))
    return group, mine, other


def test_the_owner_sees_counts_week_and_members(staff_client):
    group, mine, other = _group()
    resp = staff_client.get(f"/sidebar/api/groups/{group.chat_id}")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["group"]["name"] == XSS and body["group"]["owner"] == {"userid": "zhangsan", "name": "张三"}
    assert body["counts"] == {"members": 4, "customers": 2, "staff": 2}
    assert body["week"] == {"joined": 1, "left": 1}
    members = {m["member_id"]: m for m in body["members"]}
    assert "wmgone" not in members
    assert members[mine.external_userid]["viewable"] is True
    assert members[mine.external_userid]["join_scene_label"] == "扫描群二维码"
    assert members[other.external_userid]["viewable"] is False  # not followed by zhangsan
    assert members["zhangsan"]["name"] == "张三" and members["zhangsan"]["viewable"] is False
    assert db.session.scalar(select(AuditLog.action)) == "view_group"


def test_a_staff_member_in_the_group_may_open_it_others_may_not(client):
    group, _, _ = _group()
    login(client, "lisi")
    assert client.get(f"/sidebar/api/groups/{group.chat_id}").status_code == 200
    login(client, "outsider")
    resp = client.get(f"/sidebar/api/groups/{group.chat_id}")
    assert resp.status_code == 403 and resp.get_json() == {"code": 403, "message": "无权查看该群聊"}
    db.session.add(StaffRole(corp_id=group.corp_id, userid="outsider", role="admin", data_scope="corp"))
    db.session.commit()
    assert client.get(f"/sidebar/api/groups/{group.chat_id}").status_code == 200


def test_an_unknown_group_is_404(staff_client):
    resp = staff_client.get("/sidebar/api/groups/wrunknown")
    assert resp.status_code == 404 and resp.get_json()["message"] == "群聊尚未同步"
