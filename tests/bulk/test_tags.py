"""Bulk add_tags / remove_tags end to end (the API, the sweep, the messages worker): one mark_tag
per relation with only what it lacks or has, our copy of the tags updated, progress recorded per
batch, retryable errors retried, others recorded on the item, a dead worker's job resumed, cancel.
WeCom is mocked at the HTTP boundary (PROTOCOL.md: mark_tag answers errcode/errmsg)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import BulkJob, TimelineEntry
from scrm.services import bulk, tagging
from scrm.services.bulk import running
from tests.bulk.conftest import T0, bodies, items, start, tags_of
from tests.welcome.support import OK, url

MARK = "externalcontact/mark_tag"


def replies(wecom, answers: dict[str, list[dict]]):
    """mark_tag answers per customer, in turn (the last one repeats); OK for anyone else."""
    def answer(request):
        ext = json.loads(request.body)["external_userid"]
        queue = answers.get(ext) or [OK]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        return 200, {}, json.dumps(reply)
    wecom.add_callback(responses.POST, url(MARK), callback=answer, content_type="application/json")


def test_add_tags_marks_each_relation_once_with_what_it_lacks(app, api, world, wecom, tick):
    replies(wecom, {})
    created = start(api, "add_tags", tag_ids=["etVIP", "etEXPO"])
    assert created["status"] == "queued"
    assert created["params"] == {"tag_ids": ["etVIP", "etEXPO"], "tag_names": ["重要", "展会"]}
    tick(T0)
    sent = {(b["userid"], b["external_userid"]): (b["add_tag"], b["remove_tag"]) for b in bodies(wecom, MARK)}
    assert sent == {("zhangsan", "wmA"): (["etEXPO"], []), ("zhangsan", "wmB"): (["etVIP", "etEXPO"], []),
                    ("zhangsan", "wmC"): (["etVIP", "etEXPO"], []), ("lisi", "wmB"): (["etVIP", "etEXPO"], []),
                    ("lisi", "wmD"): (["etVIP", "etEXPO"], [])}  # wmX deleted zhangsan: not in the audience
    assert len(bodies(wecom, MARK)) == 5
    assert tags_of("zhangsan", "wmA") == tags_of("lisi", "wmD") == {"etVIP", "etEXPO"}
    job = api("GET", f"/bulk-jobs/{created['id']}").get_json()
    assert (job["status"], job["total"], job["done"], job["failed"], job["percent"]) == ("done", 5, 5, 0, 100.0)
    summaries = db.session.scalars(select(TimelineEntry.summary).filter_by(external_userid="wmD")).all()
    assert summaries == ["批量添加 重要、展会"]


def test_remove_tags_only_where_present_and_nothing_to_do_is_skipped(app, api, world, wecom, tick):
    replies(wecom, {})
    created = start(api, "remove_tags", tag_ids=["etVIP"])
    tick(T0)
    assert [(b["external_userid"], b["remove_tag"]) for b in bodies(wecom, MARK)] == [("wmA", ["etVIP"])]
    assert tags_of("zhangsan", "wmA") == set()
    assert items(created["id"])[("lisi", "wmD")] == ("skipped", "没有这些标签")
    job = api("GET", f"/bulk-jobs/{created['id']}").get_json()
    assert (job["done"], job["skipped"], job["items_by_status"]) == (1, 4, {"done": 1, "skipped": 4})


def test_retryable_errors_are_retried_and_others_recorded(app, api, world, wecom, tick):
    replies(wecom, {"wmB": [{"errcode": -1, "errmsg": "system busy"}, OK],
                    "wmD": [{"errcode": 84061, "errmsg": "not external contact"}]})
    created = start(api, "add_tags", customers=("wmB", "wmD"), tag_ids=["etEXPO"])
    tick(T0)
    first = items(created["id"])
    assert first[("zhangsan", "wmB")][0] == "pending" and "system busy" in first[("zhangsan", "wmB")][1]
    job = db.session.get(BulkJob, created["id"])
    assert job.status == "running" and job.lease_until == T0 + timedelta(seconds=5)
    tick(T0 + timedelta(minutes=1))  # the sweep resumes it after the wait
    assert items(created["id"]) == {("zhangsan", "wmB"): ("done", None), ("lisi", "wmB"): ("done", None),
                                    ("lisi", "wmD"): ("failed", "不是该成员的客户（客户可能已删除成员）")}
    failed = api("GET", f"/bulk-jobs/{created['id']}/items", query_string={"status": "failed"})
    assert [(i["external_userid"], i["name"], i["staff_name"], i["errcode"]) for i in failed.get_json()] == [
        ("wmD", "客户wmD", "李四", 84061)]
    assert json.loads(failed.headers["X-Pagination"])["total"] == 1
    job = api("GET", f"/bulk-jobs/{created['id']}").get_json()
    assert (job["status"], job["done"], job["failed"], job["percent"]) == ("done", 2, 1, 100.0)


def test_progress_is_recorded_per_batch_and_a_dead_workers_job_resumes(app, api, world, wecom, tick, monkeypatch):
    monkeypatch.setattr(running, "BATCH", 2)
    monkeypatch.setattr(running, "BATCHES_PER_RUN", 1)
    replies(wecom, {})
    created = start(api, "add_tags", tag_ids=["etEXPO"])
    assert bulk.run(created["id"]) == "continued"
    job = api("GET", f"/bulk-jobs/{created['id']}").get_json()
    assert (job["status"], job["total"], job["done"], job["percent"]) == ("running", 5, 2, 40.0)

    # The next run's worker dies in the middle of its batch (after WeCom took the calls).
    def die(*args, **kwargs):
        raise SystemExit("worker killed")
    monkeypatch.setattr(tagging, "record_changes", die)
    with pytest.raises(SystemExit):
        bulk.run(created["id"])
    db.session.rollback()
    monkeypatch.undo()
    monkeypatch.setattr(running, "BATCH", 2)
    assert api("GET", f"/bulk-jobs/{created['id']}").get_json()["done"] == 2  # nothing of the lost batch
    assert bulk.run(created["id"]) == "skipped"  # its lease still holds
    tick(T0 + timedelta(minutes=4))
    assert api("GET", f"/bulk-jobs/{created['id']}").get_json()["done"] == 2
    tick(T0 + timedelta(minutes=6))  # the lease expired: the sweep resumes the job where it stopped
    job = api("GET", f"/bulk-jobs/{created['id']}").get_json()
    assert (job["status"], job["done"], job["failed"]) == ("done", 5, 0)
    marked = [(b["userid"], b["external_userid"]) for b in bodies(wecom, MARK)]
    assert len(marked) == 7 and len(set(marked)) == 5  # the lost batch's two calls were made again
    assert all(tags_of(u, e) >= {"etEXPO"} for u, e in set(marked))


def test_cancel_stops_the_items_not_processed_yet(app, api, world, wecom, monkeypatch):
    monkeypatch.setattr(running, "BATCH", 2)
    monkeypatch.setattr(running, "BATCHES_PER_RUN", 1)
    replies(wecom, {})
    created = start(api, "add_tags", tag_ids=["etEXPO"])
    bulk.run(created["id"])
    resp = api("POST", f"/bulk-jobs/{created['id']}/cancel")
    assert resp.status_code == 200, resp.get_json()
    job = resp.get_json()
    assert (job["status"], job["done"], job["failed"], job["items_by_status"]) == (
        "cancelled", 2, 3, {"done": 2, "cancelled": 3})
    clock.freeze(T0 + timedelta(minutes=10))
    assert bulk.run(created["id"]) == "skipped"
    assert bulk.sweep(T0 + timedelta(minutes=10)) == 0
    assert len(bodies(wecom, MARK)) == 2
    assert api("POST", f"/bulk-jobs/{created['id']}/cancel").get_json()["status"] == "cancelled"
