"""The shell: the menu (every section a page, unbuilt ones 「即将推出」), the header, the
工作台's figures from the services, the security headers; the sign-in gate."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from console.menu import SECTIONS as MENU
from scrm import clock
from scrm.extensions import db
from scrm.models import FollowRelation, GroupChat, RelationStatus, StaffRole
from tests.conftest import TEST_CORP_ID

SECTIONS = [section.title for section in MENU]
NAUGHTY = "{{ constructor.constructor('alert(1)')() }}<script>x</script>"


def bootstrap(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="console-bootstrap">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_every_page_needs_a_session(client):
    for path in ("/console/", "/console/customers", "/console/api/dashboard"):
        resp = client.get(path)
        assert resp.status_code in (302, 401), path
    assert client.get("/console/").headers["Location"] == "/console/login?next=/console/"


def test_the_dashboard_shell_has_the_menu_the_user_and_the_vendored_assets(admin_client):
    resp = admin_client.get("/console/")
    html = resp.get_data(as_text=True)
    data = bootstrap(html)
    assert [item["title"] for item in data["menu"]] == SECTIONS
    assert data["user"] == {"name": "admin", "kind": "admin", "userid": None, "role": "admin", "role_label": "管理员"}
    assert data["page"] == "dashboard" and data["active"] == "/console/"
    for asset in ("vendor/vue/vue.global.prod.js", "vendor/element-plus/index.full.min.js",
                  "vendor/element-plus/locale/zh-cn.min.js", "vendor/element-plus-icons-vue/index.iife.min.js",
                  "vendor/echarts/echarts.min.js", "vendor/element-plus/index.css", "dashboard.js", "boot.js"):
        assert f"/console/static/{asset}" in html, asset
    assert 'lang="zh-CN"' in html and "退出登录" in html
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


def test_each_unbuilt_section_is_a_coming_soon_page(admin_client, monkeypatch):
    from console import menu
    from console.menu import BY_SLUG, Section

    for item in bootstrap(admin_client.get("/console/").get_data(as_text=True))["menu"]:
        assert BY_SLUG[item["href"].removeprefix("/console/")].built, item
        assert "即将推出" not in admin_client.get(item["href"]).get_data(as_text=True), item
    # every section is built today; a new one starts as a 「即将推出」 page with its summary
    future = Section("future", "未来", "Star", summary="下一个版本提供。")
    monkeypatch.setitem(BY_SLUG, "future", future)
    monkeypatch.setattr(menu, "SECTIONS", (*menu.SECTIONS, future))
    resp = admin_client.get("/console/future")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "即将推出" in html
    data = bootstrap(html)
    assert data["page"] == "coming-soon" and data["title"] == "未来" and data["summary"] == "下一个版本提供。"
    assert data["menu"][-1]["href"] == "/console/future"
    assert admin_client.get("/console/nothing-here").status_code == 404


def test_a_members_name_reaches_the_page_only_as_json(client, wecom, staff):
    from scrm.models import Staff
    from tests.console.test_wecom_login import callback, replies, start

    db.session.query(Staff).filter_by(userid="zhangsan").update({"name": NAUGHTY})
    db.session.commit()
    replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    callback(client, start(client)["state"])
    html = client.get("/console/").get_data(as_text=True)
    assert bootstrap(html)["user"]["name"] == NAUGHTY
    assert NAUGHTY not in html and "<script>x</script>" not in html  # escaped inside the JSON
    assert html.count("constructor.constructor") == 1  # only in the JSON, never in the Vue template


def relation(userid: str, external: str, added: datetime, status: str = RelationStatus.ACTIVE) -> FollowRelation:
    return FollowRelation(corp_id=TEST_CORP_ID, userid=userid, external_userid=external, added_at=added, status=status)


def seed_figures() -> None:
    now = datetime(2026, 12, 3, 4, 0)  # 12:00 in Shanghai
    clock.freeze(now)
    db.session.add_all([
        relation("zhangsan", "wm1", now - timedelta(hours=1)),
        relation("lisi", "wm1", now - timedelta(days=1)),
        relation("zhangsan", "wm2", now - timedelta(days=2)),
        relation("lisi", "wm3", now - timedelta(days=2), RelationStatus.DELETED_BY_CUSTOMER),
        relation("lisi", "wm4", now - timedelta(days=45)),
        relation("lisi", "wm5", datetime(2026, 12, 2, 16, 30)),  # 00:30 on the 3rd, Shanghai time
        GroupChat(corp_id=TEST_CORP_ID, chat_id="wr1", owner="zhangsan"),
        GroupChat(corp_id=TEST_CORP_ID, chat_id="wr2", owner="lisi"),
        GroupChat(corp_id=TEST_CORP_ID, chat_id="wr3", owner="lisi", status="dismissed"),
    ])
    db.session.commit()


def test_the_dashboard_figures_for_an_administrator_are_the_corps(admin_client):
    seed_figures()
    data = admin_client.get("/console/api/dashboard").get_json()
    assert (data["scope"], data["customers"], data["active_relations"], data["groups"], data["open_sop_tasks"]) == (
        "corp", 4, 5, 2, 0)
    days = data["adds_per_day"]
    assert len(days) == 30 and days[-1]["date"] == "2026-12-03" and days[0]["date"] == "2026-11-04"
    by_day = {d["date"]: d["adds"] for d in days}
    assert (by_day["2026-12-03"], by_day["2026-12-02"], by_day["2026-12-01"]) == (2, 1, 2)
    assert sum(by_day.values()) == 5  # the add 45 days ago is outside the chart


def test_a_sales_member_sees_their_own_figures_and_a_corp_scope_member_the_corps(client, wecom, staff):
    from tests.console.test_wecom_login import callback, replies, start

    seed_figures()
    replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    callback(client, start(client)["state"])
    mine = client.get("/console/api/dashboard").get_json()
    assert (mine["scope"], mine["customers"], mine["active_relations"], mine["groups"]) == ("self", 2, 2, 1)
    assert sum(d["adds"] for d in mine["adds_per_day"]) == 2
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="zhangsan", role="manager", data_scope="corp"))
    db.session.commit()
    assert client.get("/console/api/dashboard").get_json()["scope"] == "corp"
