"""The 群SOP, 社群运营 and 设置 pages render for an administrator; the corp tag library's Open API
(WeCom's add/edit/del_corp_tag and get_corp_tag_list mocked at the HTTP boundary, reply shapes as
PROTOCOL.md §corp tags) through the console's mount; a group code's QR image from our origin."""
from __future__ import annotations

import pytest
import responses
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import GroupCode, RelationTag, Tag, TagGroup, TimelineEntry
from tests.api.factories import OTHER_CORP_ID, gen_customer, gen_relation, gen_relation_tag, gen_tag
from tests.conftest import TEST_CORP_ID
from tests.console.conftest import page_token
from tests.console.test_pages import bootstrap
from tests.welcome.support import OK, bodies, url

V1 = "/console/api/v1"
ADD, EDIT, DEL, LIST = ("externalcontact/add_corp_tag", "externalcontact/edit_corp_tag",
                        "externalcontact/del_corp_tag", "externalcontact/get_corp_tag_list")


@pytest.fixture
def call(admin_client):
    """A console API call with the page's CSRF token, as the pages' scripts make it."""
    token = page_token(admin_client)

    def send(method: str, path: str, **kwargs):
        return admin_client.open(V1 + path, method=method, headers={"X-CSRF-Token": token}, **kwargs)

    return send


@pytest.mark.parametrize(("path", "page", "script", "tabs"), [
    ("/console/group-sops", "group-sops", "group_sops.js", None),
    ("/console/community", "community", "community.js", ["codes", "welcome"]),
    ("/console/settings", "settings", "settings.js", ["tags", "labels", "stages", "fields"]),
])
def test_each_page_renders_for_an_administrator(admin_client, path, page, script, tabs):
    resp = admin_client.get(path)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    data = bootstrap(html)
    assert data["page"] == page and data["active"] == path
    assert f"/console/static/{script}" in html and "/console/static/community_common.js" in html
    assert f'id="tpl-{page}"' in html and "即将推出" not in html
    if tabs:
        assert [tab["name"] for tab in data["tabs"]] == tabs and data["tab"] == tabs[0]
    for static in ("community_common.js", script, "community.css"):
        assert admin_client.get(f"/console/static/{static}").status_code == 200


def test_a_tab_is_chosen_by_the_query_and_an_unknown_one_falls_back(admin_client):
    assert bootstrap(admin_client.get("/console/settings?tab=fields").get_data(as_text=True))["tab"] == "fields"
    assert bootstrap(admin_client.get("/console/settings?tab=nope").get_data(as_text=True))["tab"] == "tags"


def test_the_menu_has_the_community_section_after_group_sops(admin_client):
    menu = bootstrap(admin_client.get("/console/").get_data(as_text=True))["menu"]
    slugs = [item["slug"] for item in menu]
    assert slugs[slugs.index("group-sops") + 1] == "community"
    assert menu[slugs.index("community")] == {"slug": "community", "title": "社群运营", "icon": "Connection",
                                              "href": "/console/community"}


# ---- corp tags ---------------------------------------------------------------------------------

def group_reply(group_id: str, name: str, tags: list[tuple[str, str]], order: int = 0) -> dict:
    """A tag_group as add_corp_tag / get_corp_tag_list answer it."""
    return {"group_id": group_id, "group_name": name, "create_time": 1700000000, "order": order, "deleted": False,
            "tag": [{"id": tag_id, "name": tag_name, "create_time": 1700000000, "order": 0, "deleted": False}
                    for tag_id, tag_name in tags]}


def test_creating_a_tag_group_goes_to_wecom_then_our_copy(app, wecom, call):
    wecom.add(responses.POST, url(ADD), json={**OK, "tag_group": group_reply("etG1", "意向", [("etT1", "高"),
                                                                                              ("etT2", "低")])})
    resp = call("POST", "/corp-tag-groups", json={"group_name": "意向", "order": 5,
                                                  "tags": [{"name": "高"}, {"name": "低"}]})
    assert resp.status_code == 201, resp.get_json()
    assert bodies(wecom, ADD) == [{"group_name": "意向", "order": 5, "tag": [{"name": "高"}, {"name": "低"}]}]
    assert resp.get_json()["group_id"] == "etG1"
    assert [t["name"] for t in resp.get_json()["tags"]] == ["高", "低"]
    listed = call("GET", "/corp-tag-groups").get_json()
    assert [(g["name"], [t["tag_id"] for t in g["tags"]]) for g in listed] == [("意向", ["etT1", "etT2"])]
    assert call("GET", "/corp-tag-groups", query_string={"name": "低"}).get_json()[0]["group_id"] == "etG1"
    assert call("GET", "/corp-tag-groups", query_string={"name": "无此"}).get_json() == []


def test_invalid_tag_input_is_422_with_field_paths_and_wecom_is_not_called(app, wecom, call):
    gen_tag(tag_id="etT1", name="高", group_id="etG1", group_name="意向")
    resp = call("POST", "/corp-tag-groups", json={"group_name": "", "tags": [{"name": "x" * 31}]})
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]["json"]
    assert "group_name" in errors and "name" in errors["tags"]["0"]
    clash = call("POST", "/corp-tag-groups", json={"group_name": "意向", "tags": [{"name": "新"}]})
    assert clash.status_code == 422 and "group_name" in clash.get_json()["errors"]["json"]
    twice = call("POST", "/corp-tag-groups/etG1/tags", json={"tags": [{"name": "高"}, {"name": "中"}, {"name": "中"}]})
    assert twice.status_code == 422
    assert set(twice.get_json()["errors"]["json"]) == {"tags.0.name", "tags.2.name"}
    assert bodies(wecom, ADD) == []


def test_adding_tags_to_a_group(app, wecom, call):
    gen_tag(tag_id="etT1", name="高", group_id="etG1", group_name="意向")
    wecom.add(responses.POST, url(ADD), json={**OK, "tag_group": group_reply("etG1", "意向", [("etT3", "中")])})
    resp = call("POST", "/corp-tag-groups/etG1/tags", json={"tags": [{"name": "中"}]})
    assert resp.status_code == 201
    assert bodies(wecom, ADD) == [{"group_id": "etG1", "tag": [{"name": "中"}]}]
    assert sorted(t["name"] for t in resp.get_json()["tags"]) == ["中", "高"]


def test_renaming_a_tag_reaches_wecom_and_the_customers_tag_names(app, wecom, call):
    tag = gen_tag(tag_id="etT1", name="高", group_id="etG1", group_name="意向")
    relation = gen_relation(gen_customer(), "zhangsan")
    gen_relation_tag(relation, tag.tag_id, "高", group_name="意向")
    wecom.add(responses.POST, url(EDIT), json=OK)
    wecom.add(responses.POST, url(LIST), json={**OK, "tag_group": [group_reply("etG1", "意向", [("etT1", "很高")])]})
    resp = call("PATCH", "/corp-tags/etT1", json={"name": "很高"})
    assert resp.status_code == 200 and resp.get_json()["name"] == "很高"
    assert bodies(wecom, EDIT) == [{"id": "etT1", "name": "很高"}]
    assert bodies(wecom, LIST) == [{"group_id": ["etG1"]}]
    db.session.expire_all()
    assert db.session.scalar(select(RelationTag.tag_name)) == "很高"


def test_renaming_a_group(app, wecom, call):
    gen_tag(tag_id="etT1", name="高", group_id="etG1", group_name="意向")
    wecom.add(responses.POST, url(EDIT), json=OK)
    renamed = group_reply("etG1", "购买意向", [("etT1", "高")], 9)
    wecom.add(responses.POST, url(LIST), json={**OK, "tag_group": [renamed]})
    resp = call("PATCH", "/corp-tag-groups/etG1", json={"name": "购买意向", "order": 9})
    assert resp.status_code == 200 and (resp.get_json()["name"], resp.get_json()["order"]) == ("购买意向", 9)
    assert bodies(wecom, EDIT) == [{"id": "etG1", "name": "购买意向", "order": 9}]


def test_deleting_a_tag_takes_it_off_customers_and_an_emptied_group_goes_too(app, wecom, call):
    tag = gen_tag(tag_id="etT1", name="高", group_id="etG1", group_name="意向")
    customer = gen_customer()
    gen_relation_tag(gen_relation(customer, "zhangsan"), tag.tag_id, "高", group_name="意向")
    wecom.add(responses.POST, url(DEL), json=OK)
    assert call("DELETE", "/corp-tags/etT1").status_code == 204
    assert bodies(wecom, DEL) == [{"tag_id": ["etT1"]}]
    db.session.expire_all()
    assert db.session.scalar(select(RelationTag.id)) is None
    assert db.session.scalar(select(TimelineEntry.data).filter_by(external_userid=customer.external_userid)) == {
        "changes": {"tags_removed": [{"key": "etT1", "name": "高", "group_name": "意向"}]}, "reason": "tag_deleted"}
    assert db.session.scalar(select(TagGroup.deleted).filter_by(group_id="etG1")) is True
    assert call("GET", "/corp-tag-groups").get_json() == []


def test_deleting_a_group(app, wecom, call):
    gen_tag(tag_id="etT1", name="高", group_id="etG1", group_name="意向")
    wecom.add(responses.POST, url(DEL), json=OK)
    assert call("DELETE", "/corp-tag-groups/etG1").status_code == 204
    assert bodies(wecom, DEL) == [{"group_id": ["etG1"]}]
    db.session.expire_all()
    assert db.session.scalar(select(Tag.deleted).filter_by(tag_id="etT1")) is True


def test_unknown_or_other_corps_tags_are_404(app, wecom, call):
    gen_tag(OTHER_CORP_ID, tag_id="etX", name="x", group_id="etGX", group_name="别家")
    assert call("GET", "/corp-tag-groups/etGX").status_code == 404
    assert call("PATCH", "/corp-tag-groups/etGX", json={"name": "y"}).status_code == 404
    assert call("DELETE", "/corp-tag-groups/nope").status_code == 404
    assert call("POST", "/corp-tag-groups/nope/tags", json={"tags": [{"name": "a"}]}).status_code == 404
    assert call("PATCH", "/corp-tags/etX", json={"name": "y"}).status_code == 404
    assert call("DELETE", "/corp-tags/etX").status_code == 404
    assert wecom.calls == [] or all("corp_tag" not in c.request.url for c in wecom.calls)


def test_wecom_refusing_is_502_and_its_tag_limit_409(app, wecom, call):
    gen_tag(tag_id="etT1", name="高", group_id="etG1", group_name="意向")
    wecom.add(responses.POST, url(ADD), json={"errcode": 40126, "errmsg": "corp tag count exceeded"})
    full = call("POST", "/corp-tag-groups/etG1/tags", json={"tags": [{"name": "中"}]})
    assert full.status_code == 409 and "40126" in full.get_json()["message"]
    wecom.add(responses.POST, url(EDIT), json={"errcode": 40068, "errmsg": "invalid tagid"})
    refused = call("PATCH", "/corp-tags/etT1", json={"name": "新"})
    assert refused.status_code == 502 and "40068" in refused.get_json()["message"]
    db.session.expire_all()
    assert db.session.scalar(select(Tag.name).filter_by(tag_id="etT1")) == "高"


def test_sync_reads_the_whole_library_and_drops_what_wecom_no_longer_lists(app, wecom, call):
    gen_tag(tag_id="etOLD", name="旧", group_id="etGOLD", group_name="旧组")
    wecom.add(responses.POST, url(LIST), json={**OK, "tag_group": [
        group_reply("etG1", "意向", [("etT1", "高"), ("etT2", "低")], 2),
        group_reply("etG2", "来源", [("etT3", "展会")], 1)]})
    resp = call("POST", "/corp-tags/sync")
    assert resp.status_code == 200 and resp.get_json() == {"groups": 2, "tags": 3}
    assert bodies(wecom, LIST) == [{}]
    listed = call("GET", "/corp-tag-groups").get_json()
    assert [g["name"] for g in listed] == ["意向", "来源"]
    db.session.expire_all()
    assert db.session.scalar(select(TagGroup.deleted).filter_by(group_id="etGOLD")) is True


def test_tag_writes_need_the_csrf_token(admin_client, app):
    assert admin_client.post(V1 + "/corp-tags/sync").status_code == 400
    body = {"group_name": "a", "tags": [{"name": "b"}]}
    assert admin_client.post(V1 + "/corp-tag-groups", json=body).status_code == 400


# ---- group code QR image -----------------------------------------------------------------------

def gen_code(corp_id: str = TEST_CORP_ID, qr_code: str | None = "https://wework.qpic.cn/wwpic/CFG1/0",
             state: str = "gc1") -> GroupCode:
    code = GroupCode(corp_id=corp_id, config_id=f"CFG_{state}", name="福利群活码", scene=2, state=state,
                     auto_create_room=False, qr_code=qr_code, status="active")
    db.session.add(code)
    db.session.commit()
    return code


def test_a_group_codes_qr_image_is_served_from_our_origin(admin_client, wecom):
    code = gen_code()
    wecom.add(responses.GET, "https://wework.qpic.cn/wwpic/CFG1/0", body=b"\x89PNG qr", content_type="image/png")
    shown = admin_client.get(f"/console/api/group-codes/{code.id}/qr-code")
    assert shown.status_code == 200 and shown.data == b"\x89PNG qr" and shown.mimetype == "image/png"
    assert "Content-Disposition" not in shown.headers
    saved = admin_client.get(f"/console/api/group-codes/{code.id}/qr-code?download=1")
    assert saved.headers["Content-Disposition"] == f'attachment; filename="group-code-{code.id}.png"'


def test_a_qr_image_that_cannot_be_had_is_a_clear_error(admin_client, wecom):
    other = gen_code(OTHER_CORP_ID)
    assert admin_client.get(f"/console/api/group-codes/{other.id}/qr-code").status_code == 404
    none = gen_code(qr_code=None, state="gc2")
    resp = admin_client.get(f"/console/api/group-codes/{none.id}/qr-code")
    assert resp.status_code == 502 and "二维码" in resp.get_json()["message"]
    broken = gen_code(qr_code="https://wework.qpic.cn/wwpic/GONE/0", state="gc3")
    wecom.add(responses.GET, "https://wework.qpic.cn/wwpic/GONE/0", body="<html>not found</html>", status=404,
              content_type="text/html")
    assert admin_client.get(f"/console/api/group-codes/{broken.id}/qr-code").status_code == 502


def test_the_qr_image_needs_a_session(client, app):
    assert client.get("/console/api/group-codes/1/qr-code").status_code == 401
