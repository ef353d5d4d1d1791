"""The operator API for channel codes, welcome templates and media, and the full loop: a channel
created through the API, a customer added through it, the welcome sent with the channel's
content and the customer's nickname, the channel's tags applied and recorded."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
import responses
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import CallbackEvent, ChannelAdd, RelationTag, WelcomeMessage
from scrm.services import welcome
from tests.api.factories import OTHER_CORP_ID, gen_token
from tests.helpers import post_callback, run_jobs
from tests.welcome.support import OK, add_event, bodies, contact_reply, gen_staff, gen_tags, kinds, url

SEND, GET, MARK_TAG = "externalcontact/send_welcome_msg", "externalcontact/get", "externalcontact/mark_tag"
ADD_WAY = "externalcontact/add_contact_way"


@pytest.fixture
def api(client):
    token = gen_token()

    def call(method: str, path: str, **kw):
        return client.open("/api/v1" + path, method=method, headers={"Authorization": f"Bearer {token}"}, **kw)
    return call


def upload(api, wecom, media_id: str = "MEDIA1", kind: str = "image"):
    wecom.add(responses.POST, url("media/upload"), json={**OK, "type": kind, "media_id": media_id,
                                                        "created_at": str(int(datetime.now().timestamp()))})
    return api("POST", "/media", data={"kind": kind, "file": (io.BytesIO(b"\x89PNG image bytes"), "poster.png")},
               content_type="multipart/form-data")


def test_full_loop_channel_customer_welcome_tags(app, client, wecom, api):
    gen_staff()
    gen_tags(("etEXPO", "展会"), ("etHOT", "高意向"))
    image = upload(api, wecom)
    assert image.status_code == 201 and image.json["status"] == "ready"
    template = api("POST", "/welcome-templates", json={
        "name": "展会欢迎语", "text": "{nickname}您好，我是{staff_name}，感谢在展会上添加我！",
        "attachments": [{"msgtype": "image", "media": image.json["id"]},
                        {"msgtype": "link", "title": "展会资料", "url": "https://example.com/expo"}]})
    assert template.status_code == 201, template.json
    wecom.add(responses.POST, url(ADD_WAY), json={**OK, "config_id": "CFG9", "qr_code": "https://wework.qpic.cn/q9"})
    channel = api("POST", "/channels", json={
        "name": "2024 展会", "type": 1, "scene": 2, "state": "expo24", "userids": ["zhangsan"],
        "remark": "展会二维码", "tag_ids": ["etEXPO", "etHOT"], "welcome_template_id": template.json["id"]})
    assert channel.status_code == 201, channel.json
    assert (channel.json["config_id"], channel.json["qr_code"], channel.json["adds"]) == (
        "CFG9", "https://wework.qpic.cn/q9", 0)
    assert bodies(wecom, ADD_WAY) == [{"type": 1, "scene": 2, "remark": "展会二维码", "skip_verify": True,
                                        "state": "expo24", "user": ["zhangsan"]}]

    # a customer scans it: WeCom's callback carries the channel's state and a WelcomeCode
    wecom.add(responses.GET, url(GET), json=contact_reply("wmEXPO1", "王小明", state="expo24"))
    wecom.add(responses.POST, url(SEND), json=OK)
    wecom.add(responses.POST, url(MARK_TAG), json=OK)
    assert post_callback(client, add_event("wmEXPO1", state="expo24")).status_code == 200
    assert run_jobs(app, ["welcome"]) == 1
    assert run_jobs(app, ["callbacks"]) == 1

    assert bodies(wecom, SEND) == [{
        "welcome_code": "WELCOMECODE", "text": {"content": "王小明您好，我是张三，感谢在展会上添加我！"},
        "attachments": [{"msgtype": "image", "image": {"media_id": "MEDIA1"}},
                        {"msgtype": "link", "link": {"title": "展会资料", "url": "https://example.com/expo"}}]}]
    assert bodies(wecom, MARK_TAG) == [{"userid": "zhangsan", "external_userid": "wmEXPO1",
                                        "add_tag": ["etEXPO", "etHOT"], "remove_tag": []}]
    row = db.session.scalars(select(WelcomeMessage)).one()
    assert (row.status, row.channel_id, row.template_id) == ("sent", channel.json["id"], template.json["id"])
    assert {t.tag_id for t in db.session.scalars(select(RelationTag).filter_by(external_userid="wmEXPO1"))} == {
        "etEXPO", "etHOT"}
    assert db.session.scalars(select(ChannelAdd)).one().channel_id == channel.json["id"]
    assert kinds("wmEXPO1") == ["welcome_sent", "relation_added", "channel_attributed", "tags_applied"]
    assert api("GET", f"/channels/{channel.json['id']}").json["adds"] == 1
    detail = api("GET", "/customers/wmEXPO1").json
    assert {t["tag_id"] for t in detail["relations"][0]["tags"]} == {"etEXPO", "etHOT"}


@pytest.mark.parametrize(("errcodes", "status", "sends"), [
    ([41050], "too_late", 1), ([41051], "already_chatting", 1), ([41096, 0], "sent", 2)])
def test_templated_welcome_outcomes(app, client, wecom, api, errcodes, status, sends):
    api("POST", "/welcome-templates", json={"name": "默认", "text": "欢迎！", "is_default": True})
    for errcode in errcodes:
        wecom.add(responses.POST, url(SEND), json={"errcode": errcode, "errmsg": f"e{errcode}"})
    post_callback(client, add_event("wmX"))
    event_id = db.session.scalar(select(CallbackEvent.id))
    for _ in errcodes:
        welcome.send_welcome(event_id)
    row = db.session.scalars(select(WelcomeMessage)).one()
    db.session.refresh(row)
    assert row.status == status
    assert [b["text"]["content"] for b in bodies(wecom, SEND)] == ["欢迎！"] * sends


def test_template_crud_and_staff_templates(app, api):
    created = api("POST", "/welcome-templates", json={"name": "A", "text": "hi", "userids": ["zhangsan"]})
    assert created.status_code == 201 and created.json["userids"] == ["zhangsan"]
    clash = api("POST", "/welcome-templates", json={"name": "B", "text": "hi", "userids": ["zhangsan", "lisi"]})
    assert clash.status_code == 422 and "zhangsan" in clash.json["errors"]["json"]["userids"][0]
    tid = created.json["id"]
    patched = api("PATCH", f"/welcome-templates/{tid}", json={"text": "你好", "userids": ["lisi"]})
    assert (patched.json["text"], patched.json["userids"], patched.json["name"]) == ("你好", ["lisi"], "A")
    assert [t["id"] for t in api("GET", "/welcome-templates").json] == [tid]
    assert api("DELETE", f"/welcome-templates/{tid}").status_code == 204
    assert api("GET", f"/welcome-templates/{tid}").status_code == 404


def test_another_corps_token_sees_nothing(app, client, api):
    tid = api("POST", "/welcome-templates", json={"name": "A", "text": "hi"}).json["id"]
    other = {"Authorization": f"Bearer {gen_token(OTHER_CORP_ID, name='other')}"}
    assert client.get(f"/api/v1/welcome-templates/{tid}", headers=other).status_code == 404
    assert client.get("/api/v1/welcome-templates", headers=other).json == []
    assert client.get("/api/v1/welcome-templates").status_code == 401


LONG = "好" * 1334  # 4002 bytes


@pytest.mark.parametrize(("body", "field", "needle"), [
    ({"text": LONG}, "text", "4000 bytes"),
    ({"text": "{nickname}" + "a" * 3950}, "text", "4000 bytes"),  # the placeholder's room counts
    ({"attachments": [{"msgtype": "link", "title": "t", "url": "https://e.com"}] * 10}, "attachments", "9"),
    ({"attachments": [{"msgtype": "link", "title": "标" * 43, "url": "https://e.com"}]}, "attachments", "128 bytes"),
    ({"attachments": [{"msgtype": "link", "title": "t", "url": "https://e.com", "desc": "d" * 513}]},
     "attachments", "512 bytes"),
    ({"attachments": [{"msgtype": "miniprogram", "title": "小" * 22, "appid": "wx1", "page": "/p", "media": 1}]},
     "attachments", "64 bytes"),
    ({"attachments": [{"msgtype": "voice", "media": 1}]}, "attachments", "Must be one of"),
    ({"attachments": [{"msgtype": "image"}]}, "attachments", "exactly one of"),
    ({"text": ""}, "text", "text or attachments"),
    ({"text": "x", "variants": [{"start": "25:00", "end": "09:00", "text": "y"}]}, "variants", "HH:MM"),
])
def test_invalid_templates_get_422_per_field(app, api, body, field, needle):
    response = api("POST", "/welcome-templates", json={"name": "bad", **body})
    assert response.status_code == 422
    errors = response.json["errors"]["json"]
    assert field in errors and needle in str(errors[field])


def test_unknown_media_is_refused_when_saved(app, api):
    response = api("POST", "/welcome-templates", json={"name": "x", "attachments": [{"msgtype": "file", "media": 404}]})
    assert response.status_code == 422
    assert "No media 404" in response.json["errors"]["json"]["attachments.0.media"][0]


def test_media_of_the_wrong_kind_is_refused(app, api, wecom):
    image = upload(api, wecom)
    response = api("POST", "/welcome-templates", json={"name": "x", "attachments": [
        {"msgtype": "video", "media": image.json["id"]}]})
    assert "needs a video" in response.json["errors"]["json"]["attachments.0.media"][0]


def test_media_upload_validation(app, api, wecom):
    bad_kind = api("POST", "/media", data={"kind": "voice", "file": (io.BytesIO(b"12345678"), "a.amr")},
                   content_type="multipart/form-data")
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json["errors"]["form"]
    tiny = api("POST", "/media", data={"kind": "file", "file": (io.BytesIO(b"abc"), "a.txt")},
               content_type="multipart/form-data")
    assert tiny.status_code == 422 and "file" in tiny.json["errors"]["files"]
    missing = api("POST", "/media", data={"kind": "file"}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in missing.json["errors"]["files"]
    assert wecom.calls == [] or all("media/upload" not in c.request.url for c in wecom.calls)


@pytest.mark.parametrize(("body", "field"), [
    ({"state": "s" * 31}, "state"),
    ({"state": "有中文"}, "state"),
    ({"tag_ids": ["etNOPE"]}, "tag_ids"),
    ({"userids": []}, "userids"),
    ({"type": 3}, "type"),
    ({"welcome_template_id": 999}, "welcome_template_id"),
    ({"userids": ["a", "b"]}, "userids"),  # type 1 takes one
])
def test_invalid_channels_get_422_per_field(app, api, wecom, body, field):
    values = {"name": "c", "type": 1, "scene": 2, "userids": ["zhangsan"], **body}
    response = api("POST", "/channels", json=values)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert not any(ADD_WAY in c.request.url for c in wecom.calls)


def test_channel_patch_delete_and_wecom_errors(app, api, wecom):
    wecom.add(responses.POST, url(ADD_WAY), json={**OK, "config_id": "CFG1", "qr_code": "q"})
    cid = api("POST", "/channels", json={"name": "c", "type": 2, "scene": 2, "userids": ["a", "b"]}).json["id"]
    assert api("GET", f"/channels/{cid}").json["state"].startswith("ch")  # generated
    assert api("PATCH", f"/channels/{cid}", json={"type": 1}).status_code == 422  # fixed once created
    wecom.add(responses.POST, url("externalcontact/update_contact_way"), json={"errcode": -1, "errmsg": "busy"})
    failed = api("PATCH", f"/channels/{cid}", json={"remark": "新"})
    assert failed.status_code == 502 and "errcode=-1" in failed.json["message"]
    assert api("GET", f"/channels/{cid}").json["remark"] is None  # nothing changed
    wecom.add(responses.POST, url("externalcontact/del_contact_way"), json=OK)
    assert api("DELETE", f"/channels/{cid}").status_code == 204
    assert api("GET", f"/channels/{cid}").json["status"] == "deleted"
    assert [c["id"] for c in api("GET", "/channels?status=active").json] == []


def test_a_template_in_use_cannot_be_deleted(app, api, wecom):
    tid = api("POST", "/welcome-templates", json={"name": "A", "text": "hi"}).json["id"]
    wecom.add(responses.POST, url(ADD_WAY), json={**OK, "config_id": "CFG1"})
    api("POST", "/channels", json={"name": "c", "type": 1, "scene": 1, "userids": ["a"], "welcome_template_id": tid})
    response = api("DELETE", f"/welcome-templates/{tid}")
    assert response.status_code == 422 and "channel" in response.json["errors"]["json"]["id"][0]
    assert api("GET", f"/welcome-templates/{tid}").status_code == 200
