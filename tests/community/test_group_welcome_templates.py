"""Group welcome templates through the Open API: WeCom first (group_welcome_template/add|edit|
get|del), our copy after; WeCom's limit of 100 (41055) and a busy WeCom (-1) leave nothing behind."""
from __future__ import annotations

import responses
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import GroupWelcomeTemplate
from tests.community.support import (
    ADD_TEMPLATE,
    DEL_TEMPLATE,
    EDIT_TEMPLATE,
    GET_TEMPLATE,
    OK,
    bodies,
    upload_image,
    url,
)


def create(api, wecom, **body):
    wecom.add(responses.POST, url(ADD_TEMPLATE), json={**OK, "template_id": "msgTPL1"})
    return api("POST", "/group-welcome-templates", json={"name": "入群欢迎", "text": "欢迎 %NICKNAME% 入群！", **body})


def test_create_sends_text_and_one_attachment_then_saves_our_copy(app, wecom, api):
    image = upload_image(api, wecom)
    reply = create(api, wecom, attachment={"msgtype": "image", "media": image}, notify=False)
    assert reply.status_code == 201, reply.json
    assert bodies(wecom, ADD_TEMPLATE) == [{"notify": 0, "text": {"content": "欢迎 %NICKNAME% 入群！"},
                                            "image": {"media_id": "MEDIA1"}}]
    assert (reply.json["template_id"], reply.json["status"], reply.json["attachment"]) == (
        "msgTPL1", "active", {"msgtype": "image", "media": image})
    assert api("GET", f"/group-welcome-templates/{reply.json['id']}").json["text"] == "欢迎 %NICKNAME% 入群！"
    listed = api("GET", "/group-welcome-templates")
    assert [t["id"] for t in listed.json] == [reply.json["id"]]


def test_a_link_attachment_goes_under_its_msgtype(app, wecom, api):
    reply = create(api, wecom, text=None, attachment={"msgtype": "link", "title": "群规", "url": "https://example.com/r"})
    assert reply.status_code == 201, reply.json
    assert bodies(wecom, ADD_TEMPLATE) == [{"notify": 1, "link": {"title": "群规", "url": "https://example.com/r"}}]


def test_invalid_fields_are_422_and_wecom_is_not_called(app, wecom, api):
    cases = [
        ({"name": "x", "text": "字" * 1001}, "text"),                      # 3003 bytes > 3000
        ({"name": "x"}, "text"),                                           # neither text nor attachment
        ({"text": "hi"}, "name"),
        ({"name": "x", "attachment": {"msgtype": "voice"}}, "attachment"),
        ({"name": "x", "attachment": [{"msgtype": "link", "title": "a", "url": "https://e.com"}]}, "attachment"),
        ({"name": "x", "attachment": {"msgtype": "image", "media": 999}}, "attachment.media"),
    ]
    for body, field in cases:
        reply = api("POST", "/group-welcome-templates", json=body)
        assert reply.status_code == 422, (body, reply.json)
        assert field in reply.json["errors"]["json"], (body, reply.json)
    assert bodies(wecom, ADD_TEMPLATE) == []
    assert db.session.scalars(select(GroupWelcomeTemplate)).all() == []


def test_the_limit_of_100_templates_is_a_clear_409_and_nothing_is_saved(app, wecom, api):
    wecom.add(responses.POST, url(ADD_TEMPLATE), json={"errcode": 41055, "errmsg": "template count exceeds limit"})
    reply = api("POST", "/group-welcome-templates", json={"name": "x", "text": "hi"})
    assert reply.status_code == 409
    assert "41055" in reply.json["message"] and "100" in reply.json["message"]
    assert db.session.scalars(select(GroupWelcomeTemplate)).all() == []


def test_a_busy_wecom_is_503_and_nothing_is_saved(app, wecom, api):
    wecom.add(responses.POST, url(ADD_TEMPLATE), json={"errcode": -1, "errmsg": "system busy"})
    reply = api("POST", "/group-welcome-templates", json={"name": "x", "text": "hi"})
    assert reply.status_code == 503 and "-1" in reply.json["message"]
    assert reply.headers["Retry-After"] == "5"
    assert db.session.scalars(select(GroupWelcomeTemplate)).all() == []


def test_a_failed_commit_deletes_the_template_from_wecom_again(app, wecom, api, monkeypatch):
    wecom.add(responses.POST, url(DEL_TEMPLATE), json=OK)
    real_commit = db.session.commit
    monkeypatch.setattr(db.session, "commit", lambda: (_ for _ in ()).throw(RuntimeError("database gone")))
    from scrm.services.community import welcome

    wecom.add(responses.POST, url(ADD_TEMPLATE), json={**OK, "template_id": "msgTPL1"})
    try:
        welcome.create("wwtestcorp0000001", {"name": "x", "text": "hi"})
    except RuntimeError:
        pass
    monkeypatch.setattr(db.session, "commit", real_commit)
    assert bodies(wecom, DEL_TEMPLATE) == [{"template_id": "msgTPL1"}]
    assert db.session.scalars(select(GroupWelcomeTemplate)).all() == []


def test_patch_edits_in_wecom_and_a_name_change_stays_local(app, wecom, api):
    created = create(api, wecom).json
    wecom.add(responses.POST, url(EDIT_TEMPLATE), json=OK)
    renamed = api("PATCH", f"/group-welcome-templates/{created['id']}", json={"name": "新名字"})
    assert renamed.status_code == 200 and renamed.json["name"] == "新名字"
    assert bodies(wecom, EDIT_TEMPLATE) == []
    edited = api("PATCH", f"/group-welcome-templates/{created['id']}", json={"text": "新的欢迎语 %NICKNAME%"})
    assert edited.status_code == 200 and edited.json["text"] == "新的欢迎语 %NICKNAME%"
    assert bodies(wecom, EDIT_TEMPLATE) == [{"template_id": "msgTPL1", "notify": 1,
                                             "text": {"content": "新的欢迎语 %NICKNAME%"}}]
    bad = api("PATCH", f"/group-welcome-templates/{created['id']}", json={"text": None})
    assert bad.status_code == 422 and "text" in bad.json["errors"]["json"]


def test_a_refused_edit_keeps_our_copy(app, wecom, api):
    created = create(api, wecom).json
    wecom.add(responses.POST, url(EDIT_TEMPLATE), json={"errcode": 40058, "errmsg": "invalid parameter"})
    reply = api("PATCH", f"/group-welcome-templates/{created['id']}", json={"text": "改"})
    assert reply.status_code == 502 and "40058" in reply.json["message"]
    db.session.expire_all()
    assert db.session.get(GroupWelcomeTemplate, created["id"]).text == "欢迎 %NICKNAME% 入群！"


def test_delete_calls_del_and_keeps_the_row_deleted(app, wecom, api):
    created = create(api, wecom).json
    wecom.add(responses.POST, url(DEL_TEMPLATE), json=OK)
    assert api("DELETE", f"/group-welcome-templates/{created['id']}").status_code == 204
    assert bodies(wecom, DEL_TEMPLATE) == [{"template_id": "msgTPL1"}]
    assert api("GET", f"/group-welcome-templates/{created['id']}").json["status"] == "deleted"
    assert api("GET", "/group-welcome-templates").json == []
    assert len(api("GET", "/group-welcome-templates?include_deleted=true").json) == 1
    assert api("GET", "/group-welcome-templates/99999").status_code == 404


def test_refresh_takes_wecoms_copy_and_marks_a_vanished_template_deleted(app, wecom, api):
    created = create(api, wecom).json
    wecom.add(responses.POST, url(GET_TEMPLATE), json={
        **OK, "text": {"content": "在企业微信里改过 %NICKNAME%"},
        "link": {"title": "新人礼", "picurl": "https://example.com/p.png", "url": "https://example.com/gift"}})
    refreshed = api("POST", f"/group-welcome-templates/{created['id']}/refresh")
    assert refreshed.status_code == 200, refreshed.json
    assert refreshed.json["text"] == "在企业微信里改过 %NICKNAME%"
    assert refreshed.json["attachment"] == {"msgtype": "link", "title": "新人礼", "url": "https://example.com/gift",
                                            "picurl": "https://example.com/p.png"}
    assert bodies(wecom, GET_TEMPLATE) == [{"template_id": "msgTPL1"}]
    wecom.replace(responses.POST, url(GET_TEMPLATE), json={"errcode": 40058, "errmsg": "invalid template_id"})
    gone = api("POST", f"/group-welcome-templates/{created['id']}/refresh")
    assert gone.status_code == 200 and gone.json["status"] == "deleted"


def test_refresh_all_reads_every_active_template(app, wecom, api):
    first = create(api, wecom).json
    wecom.replace(responses.POST, url(ADD_TEMPLATE), json={**OK, "template_id": "msgTPL2"})
    second = api("POST", "/group-welcome-templates", json={"name": "二", "text": "hi"}).json
    wecom.add(responses.POST, url(GET_TEMPLATE), json={**OK, "text": {"content": "欢迎 %NICKNAME% 入群！"}})
    wecom.add(responses.POST, url(GET_TEMPLATE), json={"errcode": 40058, "errmsg": "invalid template_id"})
    reply = api("POST", "/group-welcome-templates/refresh")
    assert reply.status_code == 200 and reply.json == {"checked": 2, "deleted": 1}
    assert [b["template_id"] for b in bodies(wecom, GET_TEMPLATE)] == ["msgTPL1", "msgTPL2"]
    assert [t["id"] for t in api("GET", "/group-welcome-templates").json] == [first["id"]]
    assert api("GET", f"/group-welcome-templates/{second['id']}").json["status"] == "deleted"
