"""The content library in the sidebar: search, category/kind filters and paging, each item's
sendChatMessage argument (placeholders rendered for a customer the staff member may see), media
that cannot be sent, and a send counted, audited and put on the customer's timeline."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import AuditLog, ContentItem, MediaAsset, TimelineEntry
from scrm.services import library
from tests.api.factories import OTHER_CORP_ID, gen_customer, gen_relation, gen_staff
from tests.conftest import TEST_CORP_ID
from tests.sidebar.conftest import PAGE_HEADER, login

NOW = datetime(2026, 12, 1, 8, 0)


@pytest.fixture
def people(app):
    gen_staff(userid="zhangsan", name="张三")
    mine = gen_customer(external_userid="wmMINE", name="王<b>小明</b>")
    gen_relation(mine, "zhangsan")
    other = gen_customer(external_userid="wmOTHER", name="李四的客户")
    gen_relation(other, "lisi")
    clock.freeze(NOW)


def gen_item(kind: str = "text", title: str = "问候", body: dict | None = None, corp_id: str = TEST_CORP_ID,
             **kw) -> ContentItem:
    item = ContentItem(corp_id=corp_id, kind=kind, title=title, body=body or {"content": "您好"},
                       **{"use_count": 0, **kw})
    db.session.add(item)
    db.session.commit()
    return item


def gen_media(media_id: str | None = "MEDIA1", expires_at: datetime | None = NOW + timedelta(days=2),
              content_type: str = "image/png") -> MediaAsset:
    asset = MediaAsset(corp_id=TEST_CORP_ID, kind="image", filename="cover.png", content_type=content_type, size=9,
                       sha256="0" * 64, data=b"\x89PNG data", status="ready" if media_id else "pending",
                       media_id=media_id, expires_at=expires_at)
    db.session.add(asset)
    db.session.commit()
    return asset


def listing(client, **args) -> dict:
    response = client.get("/sidebar/api/contents", query_string=args)
    assert response.status_code == 200, response.json
    return response.json


def test_search_filters_order_and_categories(people, staff_client):
    gen_item(title="标准报价", category="报价说明", keywords="价格,VIP", body={"content": "标准版 99 元/月"},
             use_count=2)
    gen_item(title="优惠活动", category="报价说明", body={"content": "本月签约赠送两个月"}, use_count=7)
    gen_item("link", "产品手册", category="产品介绍", body={"url": "https://example.com/m", "title": "手册",
                                                          "desc": "Brochure and cases"})
    gen_item(title="售后电话", category="售后服务", body={"content": "请拨打 400 热线"})
    gen_item(title="已删除", deleted=True)
    gen_item(title="别家的", corp_id=OTHER_CORP_ID)

    everything = listing(staff_client)
    assert [i["title"] for i in everything["items"]] == ["优惠活动", "标准报价", "产品手册", "售后电话"]
    assert (everything["total"], everything["page"], everything["page_size"]) == (4, 1, 20)
    assert everything["categories"] == [{"name": "产品介绍", "count": 1}, {"name": "售后服务", "count": 1},
                                        {"name": "报价说明", "count": 2}]
    assert [i["title"] for i in listing(staff_client, q="vip")["items"]] == ["标准报价"]  # keywords
    assert [i["title"] for i in listing(staff_client, q="热线")["items"]] == ["售后电话"]  # text content
    assert [i["title"] for i in listing(staff_client, q="优惠")["items"]] == ["优惠活动"]  # title
    assert [i["title"] for i in listing(staff_client, q="BROCHURE")["items"]] == ["产品手册"]  # link desc
    searched = listing(staff_client, q="报价")
    assert searched["categories"] == [{"name": "报价说明", "count": 1}]  # counts follow the search
    assert [i["title"] for i in listing(staff_client, category="报价说明")["items"]] == ["优惠活动", "标准报价"]
    assert [i["title"] for i in listing(staff_client, kind="link")["items"]] == ["产品手册"]
    assert listing(staff_client, q="_")["items"] == []  # LIKE wildcards are literal


def test_paging(people, staff_client):
    for n in range(25):
        gen_item(title=f"话术{n:02d}")
    second = listing(staff_client, page=2)
    assert (second["total"], len(second["items"]), second["items"][0]["title"]) == (25, 5, "话术20")
    assert listing(staff_client, page=3)["items"] == []
    for bad in ({"page": "0"}, {"kind": "video"}, {"q": "x" * 65}):
        response = staff_client.get("/sidebar/api/contents", query_string=bad)
        assert response.status_code == 422 and set(response.json["errors"]) == set(bad)


def test_message_shapes_per_kind(people, staff_client):
    text = gen_item(body={"content": "{nickname}您好，我是{staff_name}"})
    image = gen_item("image", "海报", body={"media": gen_media().id})
    link = gen_item("link", "手册", body={"url": "https://example.com/m", "title": "产品手册", "desc": "介绍",
                                        "picurl": "https://example.com/p.png"})
    bare_link = gen_item("link", "官网", body={"url": "https://example.com", "title": "官网"})
    cover = gen_media(media_id=None, expires_at=None)  # a cover needs no WeCom media_id: it is served by URL
    mini = gen_item("miniprogram", "下单", body={"appid": "wx123", "page": "pages/buy.html", "title": "立即下单",
                                               "media": cover.id})
    items = {i["id"]: i for i in listing(staff_client, external_userid="wmMINE")["items"]}

    assert items[text.id]["message"] == {"msgtype": "text", "text": {"content": "王<b>小明</b>您好，我是张三"}}
    assert items[text.id]["preview"] == "王<b>小明</b>您好，我是张三"  # as-is: the page inserts text
    assert items[image.id]["message"] == {"msgtype": "image", "image": {"mediaId": "MEDIA1"}}
    assert items[link.id]["message"] == {"msgtype": "news", "news": {
        "link": "https://example.com/m", "title": "产品手册", "desc": "介绍", "imgUrl": "https://example.com/p.png"}}
    assert items[bare_link.id]["message"]["news"] == {"link": "https://example.com", "title": "官网", "desc": "",
                                                      "imgUrl": ""}
    mini_message = items[mini.id]["message"]["miniprogram"]
    assert {k: mini_message[k] for k in ("appid", "title", "page")} == {
        "appid": "wx123", "title": "立即下单", "page": "pages/buy.html"}
    assert mini_message["imgUrl"].startswith("http://127.0.0.1:5000/sidebar/media/")
    assert all(i["sendable"] for i in items.values())
    assert [items[i]["kind_label"] for i in (text.id, image.id, link.id, mini.id)] == ["话术", "图片", "链接", "小程序"]

    # the cover URL works without a session (the WeCom client fetches it); a forged token does not
    path = mini_message["imgUrl"].removeprefix("http://127.0.0.1:5000")
    cover_response = app_client(staff_client).get(path)
    assert (cover_response.status_code, cover_response.data, cover_response.mimetype) == (
        200, b"\x89PNG data", "image/png")
    assert staff_client.get(path[:-3] + "xyz").status_code == 404


def app_client(client):
    """A client without the staff session."""
    return client.application.test_client()


def test_nickname_is_rendered_only_for_a_customer_the_staff_member_may_see(people, staff_client):
    gen_item(body={"content": "{nickname}您好"})
    assert listing(staff_client, external_userid="wmOTHER")["items"][0]["message"]["text"]["content"] == "您好"
    assert listing(staff_client)["items"][0]["message"]["text"]["content"] == "您好"
    login(staff_client, "lisi")
    assert listing(staff_client, external_userid="wmOTHER")["items"][0]["preview"] == "李四的客户您好"


def test_missing_or_expired_media_is_listed_as_not_sendable(people, staff_client):
    expired = gen_item("image", "过期", body={"media": gen_media(expires_at=NOW - timedelta(minutes=1)).id})
    pending = gen_item("image", "未上传", body={"media": gen_media(media_id=None, expires_at=None).id})
    gone = gen_item("miniprogram", "封面没了", body={"appid": "wx1", "page": "p.html", "title": "t", "media": 987654})
    fine = gen_item(title="正常")
    items = {i["id"]: i for i in listing(staff_client)["items"]}
    for item in (expired, pending, gone):
        assert (items[item.id]["sendable"], items[item.id]["message"]) == (False, None)
    assert items[fine.id]["sendable"] is True


def test_sent_counts_audits_and_records_on_the_timeline(people, staff_client):
    item = gen_item(title="标准报价", body={"content": "99 元/月"})
    response = staff_client.post(f"/sidebar/api/contents/{item.id}/sent", json={"external_userid": "wmMINE"})
    assert response.status_code == 200 and response.json == {"id": item.id, "use_count": 1}
    again = staff_client.post(f"/sidebar/api/contents/{item.id}/sent", json={"chat_id": "wrGROUP1"})
    assert again.json["use_count"] == 2
    db.session.expire_all()
    row = db.session.get(ContentItem, item.id)
    assert (row.use_count, row.last_used_at) == (2, NOW)
    audits = list(db.session.scalars(select(AuditLog).order_by(AuditLog.id)))
    assert [(a.userid, a.action, a.target_type, a.target_id) for a in audits] == [
        ("zhangsan", "send_content", "content", str(item.id))] * 2
    assert audits[0].detail == {"title": "标准报价", "kind": "text", "external_userid": "wmMINE"}
    assert audits[1].detail["chat_id"] == "wrGROUP1"
    (entry,) = db.session.scalars(select(TimelineEntry).filter_by(kind="content_sent"))
    assert (entry.external_userid, entry.source, entry.userid, entry.summary) == (
        "wmMINE", "sidebar", "zhangsan", "发送了话术「标准报价」")
    assert listing(staff_client)["items"][0]["use_count"] == 2


def test_sent_to_a_customer_the_staff_member_may_not_see_leaves_their_timeline_alone(people, staff_client):
    item = gen_item()
    assert staff_client.post(f"/sidebar/api/contents/{item.id}/sent", json={"external_userid": "wmOTHER"}).json[
        "use_count"] == 1
    assert db.session.scalars(select(TimelineEntry).filter_by(kind="content_sent")).all() == []
    assert db.session.scalars(select(AuditLog)).one().detail["external_userid"] == "wmOTHER"


def test_sent_errors(people, client):
    item = gen_item()
    deleted = gen_item(deleted=True)
    foreign = gen_item(corp_id=OTHER_CORP_ID)
    unauthenticated = client.post(f"/sidebar/api/contents/{item.id}/sent", json={}, headers=PAGE_HEADER)
    assert unauthenticated.status_code == 401 and unauthenticated.json["login_url"] == "/sidebar/oauth/start"
    assert client.get("/sidebar/api/contents").status_code == 401
    login(client, "zhangsan")
    for missing in (deleted.id, foreign.id, 999999):
        response = client.post(f"/sidebar/api/contents/{missing}/sent", json={})
        assert (response.status_code, response.json["message"]) == (404, "内容不存在或已删除")
    bad = client.post(f"/sidebar/api/contents/{item.id}/sent", json={"external_userid": 5})
    assert bad.status_code == 422 and "external_userid" in bad.json["errors"]
    db.session.expire_all()
    assert db.session.get(ContentItem, item.id).use_count == 0
    assert db.session.scalars(select(AuditLog)).all() == []


def test_a_cover_with_an_unsafe_content_type_is_not_served_as_such(people, staff_client):
    cover = gen_media(content_type="text/html")
    gen_item("miniprogram", "下单", body={"appid": "wx1", "page": "p.html", "title": "t", "media": cover.id})
    url = listing(staff_client)["items"][0]["message"]["miniprogram"]["imgUrl"]
    response = staff_client.get(url.removeprefix("http://127.0.0.1:5000"))
    assert (response.status_code, response.mimetype) == (200, "application/octet-stream")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_demo_content_command_fills_an_empty_library_once(people, runner, staff_client):
    result = runner.invoke(args=["scrm", "demo-content"])
    assert (result.exit_code, result.output.strip()) == (0, "added 8 demo content items")
    listed = listing(staff_client, external_userid="wmMINE")
    assert [c["name"] for c in listed["categories"]] == ["产品介绍", "售后服务", "报价说明"]
    assert {i["kind"] for i in listed["items"]} == {"text", "link"}
    assert any(i["message"]["msgtype"] == "text" and i["message"]["text"]["content"].startswith("王<b>小明</b>您好")
               for i in listed["items"])
    assert runner.invoke(args=["scrm", "demo-content"]).output.strip() == "content library not empty: nothing added"
    db.session.execute(ContentItem.__table__.update().values(deleted=True))  # the operator removed them
    db.session.commit()
    runner.invoke(args=["scrm", "demo-content"])
    assert listing(staff_client)["total"] == 0
    other = runner.invoke(args=["scrm", "demo-content", "--corp", OTHER_CORP_ID])
    assert other.output.strip() == "added 8 demo content items"


def cover_url(client) -> str:
    [item] = [i for i in listing(client)["items"] if i["kind"] == "miniprogram"]
    return item["message"]["miniprogram"]["imgUrl"].removeprefix("http://127.0.0.1:5000")


def test_a_cover_url_expires_after_seven_days(people, staff_client):
    gen_item("miniprogram", "下单", body={"appid": "wx1", "page": "p.html", "title": "t", "media": gen_media().id})
    path = cover_url(staff_client)
    anonymous = app_client(staff_client)
    clock.freeze(NOW + timedelta(days=7))
    assert anonymous.get(path).status_code == 200
    clock.freeze(NOW + timedelta(days=7, seconds=1))
    assert anonymous.get(path).status_code == 404
    assert anonymous.get(cover_url(staff_client)).status_code == 200  # a fresh listing signs a fresh URL


def test_a_cover_url_stops_working_when_its_item_is_deleted_or_changed(people, staff_client):
    item = gen_item("miniprogram", "下单", body={"appid": "wx1", "page": "p.html", "title": "t",
                                               "media": gen_media().id})
    path, anonymous = cover_url(staff_client), app_client(staff_client)
    assert anonymous.get(path).status_code == 200
    item.body = {**item.body, "media": gen_media().id}  # another cover: the old URL no longer serves
    db.session.commit()
    assert anonymous.get(path).status_code == 404
    path = cover_url(staff_client)
    assert anonymous.get(path).status_code == 200
    library.delete(item)
    assert anonymous.get(path).status_code == 404
