"""The operators' pages (渠道活码, 欢迎语, 客户SOP, 流失与召回, 内容库): each renders for an
administrator with its bootstrap (the staff and tags the forms pick from); the SOP calendar and
results endpoints; a channel code's QR image served from the console's own origin; media uploads
through the console's mount take WeCom's sizes."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import responses

from scrm import clock
from scrm.extensions import db
from scrm.models import Channel, Sop, SopEnrollment, SopStep, SopTask, Staff, Tag, TagGroup
from tests.conftest import TEST_CORP_ID
from tests.console.conftest import page_token
from tests.console.test_pages import NAUGHTY, bootstrap

PAGES = {"channels": ("渠道活码", "channels.js"), "welcome": ("欢迎语", "welcome.js"), "sops": ("客户SOP", "sops.js"),
         "churn": ("流失与召回", "churn.js"), "library": ("内容库", "library.js")}
NOW = datetime(2026, 12, 3, 4, 0)


@pytest.fixture
def seeded(app):
    db.session.add_all([
        Staff(corp_id=TEST_CORP_ID, userid="zhangsan", name=NAUGHTY, status=1),
        Staff(corp_id=TEST_CORP_ID, userid="lisi", name="李四", status=1),
        Staff(corp_id=TEST_CORP_ID, userid="gone", name="离职", status=5),
        TagGroup(corp_id=TEST_CORP_ID, group_id="g1", name="来源"),
        Tag(corp_id=TEST_CORP_ID, tag_id="t1", group_id="g1", name="展会"),
        Tag(corp_id=TEST_CORP_ID, tag_id="t2", group_id="g1", name="旧标签", deleted=True),
    ])
    db.session.commit()


@pytest.mark.parametrize("slug", list(PAGES))
def test_each_operator_page_renders_with_its_bootstrap(admin_client, seeded, slug):
    title, script = PAGES[slug]
    resp = admin_client.get(f"/console/{slug}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    data = bootstrap(html)
    assert data["page"] == slug and data["title"] == title and data["active"] == f"/console/{slug}"
    assert data["options"]["staff"] == [{"userid": "lisi", "name": "李四"}, {"userid": "zhangsan", "name": NAUGHTY}]
    assert data["options"]["tags"] == [{"id": "t1", "name": "展会", "group": "来源"}]
    for asset in ("console_crud.js", script, "boot.js"):
        assert f"/console/static/{asset}" in html
    assert f'id="tpl-{slug}"' in html and 'id="tpl-attachments-editor"' in html
    assert "即将推出" not in html
    assert NAUGHTY not in html and html.count("constructor.constructor") == 1  # only inside the JSON


def test_the_pages_need_a_session(client):
    for slug in PAGES:
        assert client.get(f"/console/{slug}").status_code == 302


def make_sop() -> Sop:
    sop = Sop(corp_id=TEST_CORP_ID, name="新客跟进", conditions={})
    db.session.add(sop)
    db.session.flush()
    steps = [SopStep(corp_id=TEST_CORP_ID, sop_id=sop.id, position=i, name=name, anchor="added", delay_minutes=60 * i,
                     text="你好 {nickname}", attachments=[], delivery="mass_send")
             for i, name in enumerate(["问候", None])]
    db.session.add_all(steps)
    db.session.flush()
    rows = [("wm1", 0, "sent", None, None, NOW - timedelta(hours=2)),
            ("wm1", 1, "failed", "not_friend", "not_friend", NOW + timedelta(days=1)),
            ("wm2", 0, "skipped", None, "relation_lost", NOW + timedelta(days=2)),
            ("wm2", 1, "pending", None, None, NOW + timedelta(days=40))]
    enrollments = {}
    for external in ("wm1", "wm2"):
        enrollments[external] = SopEnrollment(corp_id=TEST_CORP_ID, sop_id=sop.id, userid="lisi",
                                              external_userid=external, added_at=NOW - timedelta(hours=3))
        db.session.add(enrollments[external])
    db.session.flush()
    for external, position, status, result, error, due in rows:
        db.session.add(SopTask(corp_id=TEST_CORP_ID, sop_id=sop.id, step_id=steps[position].id,
                               enrollment_id=enrollments[external].id, userid="lisi", external_userid=external,
                               delivery="mass_send", due_at=due, status=status, result=result, error=error))
    db.session.commit()
    return sop


def test_an_sops_tasks_by_due_time_are_its_calendar(admin_client, seeded):
    clock.freeze(NOW)
    sop = make_sop()
    resp = admin_client.get(f"/console/api/v1/sops/{sop.id}/tasks")
    assert resp.status_code == 200
    tasks = resp.get_json()
    # Default window: from a day ago for 31 days, by due time; the task 40 days out is not in it.
    assert [(t["external_userid"], t["step_name"], t["status"]) for t in tasks] == [
        ("wm1", "问候", "sent"), ("wm1", "第2步", "failed"), ("wm2", "问候", "skipped")]
    assert tasks[1]["result"] == "not_friend" and tasks[0]["staff_name"] == "李四"
    assert '"total": 3' in resp.headers["X-Pagination"]
    later = admin_client.get(f"/console/api/v1/sops/{sop.id}/tasks", query_string={
        "since": "2027-01-01T00:00:00Z", "until": "2027-02-01T00:00:00Z"}).get_json()
    assert [t["status"] for t in later] == ["pending"]
    failed = admin_client.get(f"/console/api/v1/sops/{sop.id}/tasks", query_string={"status": "failed"}).get_json()
    assert [t["external_userid"] for t in failed] == ["wm1"]


def test_the_calendar_refuses_bad_filters_and_unknown_sops(admin_client, seeded):
    sop = make_sop()
    bad = admin_client.get(f"/console/api/v1/sops/{sop.id}/tasks", query_string={"status": "done"})
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]["query"]
    backwards = admin_client.get(f"/console/api/v1/sops/{sop.id}/tasks", query_string={
        "since": "2027-01-02T00:00:00Z", "until": "2027-01-01T00:00:00Z"})
    assert backwards.status_code == 422 and "until" in backwards.get_json()["errors"]["query"]
    assert admin_client.get("/console/api/v1/sops/999999/tasks").status_code == 404
    assert admin_client.get("/console/api/v1/sops/999999/results").status_code == 404


def test_an_sops_results_by_status_step_and_reason(admin_client, seeded):
    sop = make_sop()
    results = admin_client.get(f"/console/api/v1/sops/{sop.id}/results").get_json()
    assert results["customers"] == 2
    assert results["by_status"] == {"sent": 1, "failed": 1, "skipped": 1, "pending": 1}
    assert results["by_result"] == {"not_friend": 1}
    assert [(s["position"], s["name"], s["by_status"]) for s in results["steps"]] == [
        (0, "问候", {"sent": 1, "skipped": 1}), (1, None, {"failed": 1, "pending": 1})]
    assert sorted((r["status"], r["reason"], r["count"]) for r in results["reasons"]) == [
        ("failed", "not_friend", 1), ("skipped", "relation_lost", 1)]


def test_another_corps_sop_is_not_found(admin_client, seeded):
    sop = make_sop()
    sop.corp_id = "another-corp"
    db.session.commit()
    assert admin_client.get(f"/console/api/v1/sops/{sop.id}/tasks").status_code == 404
    assert admin_client.get(f"/console/api/v1/sops/{sop.id}/results").status_code == 404


def channel(qr: str | None, corp_id: str = TEST_CORP_ID) -> Channel:
    row = Channel(corp_id=corp_id, name="展会", config_id="CFG1", qr_code=qr, type=1, scene=2, state="expo",
                  userids=["lisi"], tag_ids=[], skip_verify=True, status="active")
    db.session.add(row)
    db.session.commit()
    return row


@responses.activate
def test_a_channel_codes_qr_image_is_served_from_the_console(admin_client, seeded):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    responses.add(responses.GET, "https://wework.qpic.cn/wwpic/qr1/0", body=png, content_type="image/png")
    row = channel("https://wework.qpic.cn/wwpic/qr1/0")
    shown = admin_client.get(f"/console/api/channels/{row.id}/qr")
    assert shown.status_code == 200 and shown.data == png and shown.mimetype == "image/png"
    assert "Content-Disposition" not in shown.headers
    download = admin_client.get(f"/console/api/channels/{row.id}/qr", query_string={"download": "1"})
    assert download.headers["Content-Disposition"] == f'attachment; filename="channel-{row.id}-qr.png"'


@responses.activate
def test_a_qr_image_wecom_does_not_give_is_a_clear_error(admin_client, seeded):
    responses.add(responses.GET, "https://wework.qpic.cn/wwpic/gone/0", status=404, body="nope",
                  content_type="text/html")
    missing = channel("https://wework.qpic.cn/wwpic/gone/0")
    refused = admin_client.get(f"/console/api/channels/{missing.id}/qr")
    assert refused.status_code == 502 and "二维码" in refused.get_json()["message"]
    button = channel(None)
    assert admin_client.get(f"/console/api/channels/{button.id}/qr").status_code == 404
    other = channel("https://wework.qpic.cn/wwpic/gone/0", corp_id="another-corp")
    assert admin_client.get(f"/console/api/channels/{other.id}/qr").status_code == 404
    assert admin_client.get("/console/api/channels/999999/qr").status_code == 404
    assert len(responses.calls) == 1  # only the stored URL of this corp's own channel was fetched


def test_a_media_upload_through_the_console_takes_wecoms_sizes(admin_client, seeded, wecom, app):
    # Larger than the app's body limit for every other request, well within WeCom's 10 MB for images.
    app.config["MAX_CONTENT_LENGTH"] = 1024
    wecom.add(responses.POST, "https://qyapi.weixin.qq.com/cgi-bin/media/upload",
              json={"errcode": 0, "errmsg": "ok", "type": "image", "media_id": "M1", "created_at": "1700000000"})
    token = page_token(admin_client, "/console/library")
    data = {"kind": "image", "file": (__import__("io").BytesIO(b"\x89PNG" + b"0" * 4096), "a.png", "image/png")}
    resp = admin_client.post("/console/api/v1/media", data=data, content_type="multipart/form-data",
                             headers={"X-CSRF-Token": token})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["size"] == 4100
