"""The content library through the Open API: CRUD with soft delete, filters and paging, media
checked against the corp's assets, 422 per field, and bearer auth."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import ContentItem, MediaAsset
from tests.api.factories import OTHER_CORP_ID, gen_token
from tests.conftest import TEST_CORP_ID


@pytest.fixture
def api(client, token):
    def call(method: str, path: str, **kw):
        return client.open("/api/v1" + path, method=method, headers={"Authorization": f"Bearer {token}"}, **kw)
    return call


def gen_media(kind: str = "image", corp_id: str = TEST_CORP_ID) -> int:
    asset = MediaAsset(corp_id=corp_id, kind=kind, filename="a.png", content_type="image/png", size=9,
                       sha256="0" * 64, data=b"\x89PNG data", status="ready", media_id=f"MEDIA-{kind}",
                       expires_at=datetime.now() + timedelta(days=2))
    db.session.add(asset)
    db.session.commit()
    return asset.id


TEXT = {"kind": "text", "title": "标准报价", "category": "报价说明", "keywords": "价格,VIP",
        "body": {"content": "{nickname}您好，标准版 99 元/月"}}


def test_crud_with_soft_delete_and_usage_fields(app, api):
    created = api("POST", "/contents", json=TEXT)
    assert created.status_code == 201, created.json
    item = created.json
    assert {k: item[k] for k in ("kind", "title", "category", "keywords", "body", "use_count", "last_used_at")} == {
        **{k: TEXT[k] for k in ("kind", "title", "category", "keywords", "body")}, "use_count": 0,
        "last_used_at": None}
    assert item["created_at"].endswith("Z")
    plain = api("POST", "/contents", json={"kind": "text", "title": "问候", "body": {"content": "您好"}})
    assert plain.json["category"] == "默认"

    assert api("GET", f"/contents/{item['id']}").json["title"] == "标准报价"
    patched = api("PATCH", f"/contents/{item['id']}", json={"title": "报价（新）", "body": {"content": "八五折"}})
    assert patched.status_code == 200, patched.json
    assert (patched.json["title"], patched.json["body"], patched.json["category"]) == (
        "报价（新）", {"content": "八五折"}, "报价说明")
    as_link = api("PATCH", f"/contents/{plain.json['id']}", json={
        "kind": "link", "body": {"url": "https://example.com/a", "title": "资料"}})
    assert (as_link.status_code, as_link.json["kind"]) == (200, "link")

    assert api("DELETE", f"/contents/{item['id']}").status_code == 204
    assert api("GET", f"/contents/{item['id']}").status_code == 404
    assert api("PATCH", f"/contents/{item['id']}", json={"title": "x"}).status_code == 404
    assert [i["id"] for i in api("GET", "/contents").json] == [plain.json["id"]]
    assert db.session.get(ContentItem, item["id"]).deleted is True  # the row stays


def test_list_filters_paging_and_categories(app, api):
    for n in range(3):
        api("POST", "/contents", json={**TEXT, "title": f"报价{n}"})
    api("POST", "/contents", json={"kind": "link", "title": "产品手册", "category": "产品介绍",
                                   "body": {"url": "https://example.com/m", "title": "手册", "desc": "Brochure 2024"}})
    api("POST", "/contents", json={"kind": "text", "title": "售后", "category": "售后服务",
                                   "body": {"content": "售后电话 400"}})
    db.session.execute(ContentItem.__table__.update().where(ContentItem.title == "报价2").values(use_count=5))
    db.session.commit()

    titles = [i["title"] for i in api("GET", "/contents").json]
    assert titles == ["报价2", "报价0", "报价1", "产品手册", "售后"]  # most used first, then by id
    assert [i["title"] for i in api("GET", "/contents", query_string={"category": "产品介绍"}).json] == ["产品手册"]
    assert [i["title"] for i in api("GET", "/contents", query_string={"kind": "link"}).json] == ["产品手册"]
    assert [i["title"] for i in api("GET", "/contents", query_string={"q": "vip"}).json] == [
        "报价2", "报价0", "报价1"]  # keywords, case-insensitive
    assert [i["title"] for i in api("GET", "/contents", query_string={"q": "brochure"}).json] == ["产品手册"]
    assert [i["title"] for i in api("GET", "/contents", query_string={"q": "电话"}).json] == ["售后"]  # text
    assert api("GET", "/contents", query_string={"q": "%"}).json == []  # wildcards are literal
    page = api("GET", "/contents", query_string={"page": 2, "page_size": 2})
    assert [i["title"] for i in page.json] == ["报价1", "产品手册"]
    assert json.loads(page.headers["X-Pagination"])["total"] == 5
    assert api("GET", "/content-categories").json == [
        {"name": "产品介绍", "count": 1}, {"name": "售后服务", "count": 1}, {"name": "报价说明", "count": 3}]
    bad = api("GET", "/contents", query_string={"kind": "video"})
    assert bad.status_code == 422 and "kind" in bad.json["errors"]["query"]


def test_image_and_miniprogram_media_must_be_an_image_of_the_corp(app, api):
    image, video, foreign = gen_media(), gen_media("video"), gen_media(corp_id=OTHER_CORP_ID)
    ok = api("POST", "/contents", json={"kind": "image", "title": "海报", "body": {"media": image}})
    assert ok.status_code == 201 and ok.json["body"] == {"media": image}
    mini = api("POST", "/contents", json={"kind": "miniprogram", "title": "小程序", "body": {
        "appid": "wx123", "page": "pages/index.html", "title": "下单", "media": image}})
    assert mini.status_code == 201, mini.json
    for media, needle in ((video, "needs a image"), (foreign, "No media"), (999999, "No media")):
        response = api("POST", "/contents", json={"kind": "image", "title": "海报", "body": {"media": media}})
        assert response.status_code == 422
        assert needle in response.json["errors"]["json"]["body.media"][0]
    changed = api("PATCH", f"/contents/{ok.json['id']}", json={"body": {"media": video}})
    assert changed.status_code == 422 and "body.media" in changed.json["errors"]["json"]
    assert db.session.get(ContentItem, ok.json["id"]).body == {"media": image}


@pytest.mark.parametrize(("body", "path", "needle"), [
    ({"kind": "text", "body": {"content": "x"}}, ("title",), "Missing data"),
    ({**TEXT, "title": "长" * 65}, ("title",), "between 1 and 64"),
    ({**TEXT, "category": "类" * 33}, ("category",), "between 1 and 32"),
    ({**TEXT, "kind": "video"}, ("kind",), "Must be one of"),
    ({**TEXT, "body": {"content": "字" * 1334}}, ("body", "content"), "At most 4000 bytes"),
    ({**TEXT, "body": {"content": "x", "media": 1}}, ("body", "media"), "Unknown field"),
    ({"kind": "link", "title": "t", "body": {"url": "ftp://example.com/a", "title": "t"}}, ("body", "url"),
     "Not a valid URL"),
    ({"kind": "link", "title": "t", "body": {"url": "https://example.com", "title": "标" * 43}}, ("body", "title"),
     "At most 128 bytes"),
    ({"kind": "link", "title": "t", "body": {"url": "https://example.com", "title": "t", "desc": "d" * 513}},
     ("body", "desc"), "At most 512 bytes"),
    ({"kind": "miniprogram", "title": "t", "body": {"page": "p", "title": "t", "media": 1}}, ("body", "appid"),
     "Missing data"),
    ({"kind": "image", "title": "t"}, ("body",), "Missing data"),
])
def test_invalid_items_get_422_per_field(app, api, body, path, needle):
    response = api("POST", "/contents", json=body)
    assert response.status_code == 422
    messages = response.json["errors"]["json"]
    for key in path:
        messages = messages[key]
    assert needle in messages[0]
    assert db.session.scalar(select(ContentItem.id)) is None


def test_patch_checks_the_body_against_the_current_kind(app, api):
    item = api("POST", "/contents", json=TEXT).json
    wrong = api("PATCH", f"/contents/{item['id']}", json={"body": {"url": "https://example.com"}})
    assert wrong.status_code == 422
    assert wrong.json["errors"]["json"]["body"]["content"] == ["Missing data for required field."]
    kind_only = api("PATCH", f"/contents/{item['id']}", json={"kind": "link"})
    assert kind_only.status_code == 422 and "body" in kind_only.json["errors"]["json"]
    assert api("GET", f"/contents/{item['id']}").json["body"] == TEXT["body"]


def test_auth_and_corp_isolation(app, client, api):
    assert client.get("/api/v1/contents").status_code == 401
    assert client.post("/api/v1/contents", json=TEXT).status_code == 401
    assert client.get("/api/v1/content-categories").status_code == 401
    revoked = gen_token(revoked=True)
    assert client.get("/api/v1/contents", headers={"Authorization": f"Bearer {revoked}"}).status_code == 401
    item = api("POST", "/contents", json=TEXT).json
    other = {"Authorization": f"Bearer {gen_token(OTHER_CORP_ID)}"}
    assert client.get("/api/v1/contents", headers=other).json == []
    assert client.get(f"/api/v1/contents/{item['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/contents/{item['id']}", headers=other).status_code == 404
    assert api("GET", f"/contents/{item['id']}").status_code == 200


def test_openapi_documents_the_content_endpoints(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/contents"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/contents/{content_id}"])
    assert paths["/api/v1/content-categories"]["get"]["summary"] == "List content categories"
