"""离职继承 end to end against the WeCom simulator, in-process: a member leaves, their customers and
groups are listed into a batch proposed to their manager, nothing moves before a manager approves,
the transfers start, one customer refuses (transfer_fail), the others complete (transfer_result
polled), and the successor's sidebar shows the predecessor's follow-ups."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import FollowRelation, FollowUp, GroupChat, HandoverBatch, HandoverItem
from scrm.services import handover, profile
from tests.conftest import TEST_CORP_ID
from tests.helpers import run_jobs
from tests.sandbox.conftest import api_calls

LEAVER, MANAGER = "zhangli", "zhangsan"  # the seeded world (seed 7): both in 销售一组, zhangsan leads it


def _items(batch_id: int) -> dict[str, HandoverItem]:
    db.session.expire_all()
    return {i.target_id: i for i in db.session.scalars(select(HandoverItem).filter_by(batch_id=batch_id))}


def test_a_leaver_s_customers_reach_the_manager_with_their_history(app, api, linked):
    world, actions = linked
    customers = list(world.staff[LEAVER].relations)
    groups = [g.chat_id for g in world.groups.values() if g.owner == LEAVER]
    refuser, kept = customers[0], customers[1]
    note = profile.add_follow_up(TEST_CORP_ID, LEAVER, kept, "call", "电话沟通了报价，下周回访",
                                 utcnow() + timedelta(days=3))

    actions.run("staff_leaves", {"userid": LEAVER})
    run_jobs(app, ["callbacks"])
    run_jobs(app, ["sync"])  # the delete_user handler's job: WeCom's lists into a batch

    batches = api("GET", f"/handovers?handover_userid={LEAVER}").get_json()
    assert len(batches) == 1
    batch = batches[0]
    assert (batch["kind"], batch["status"], batch["rule"]) == ("resigned", "proposed", "manager")
    assert batch["counts"] == {"customer": {"proposed": len(customers)}, "group": {"proposed": len(groups)}}
    assert batch["successors"] == [{"userid": MANAGER, "name": "张三", "items": len(customers) + len(groups)}]

    # Approval required: the sweep and the workers move nothing before it.
    run_jobs(app, ["messages"])
    handover.sweep(utcnow() + timedelta(hours=1))
    assert not world.transfers
    refused = api("POST", f"/handovers/{batch['id']}/approve", json={"approved_by": LEAVER})
    assert refused.status_code == 422  # the leaver cannot approve their own handover
    assert api("POST", f"/handovers/{batch['id']}/approve", json={"approved_by": MANAGER}).status_code == 200
    run_jobs(app, ["messages"])

    assert {t.external_userid for t in world.transfers.values() if t.status == 2} == set(customers)
    items = _items(batch["id"])
    assert all(items[c].status == "waiting" for c in customers)
    assert all(items[g].status == "done" for g in groups)  # group transfers take effect at once
    assert set(db.session.scalars(select(GroupChat.owner).where(GroupChat.chat_id.in_(groups)))) == {MANAGER}

    # One customer refuses (transfer_fail); WeCom completes the others after 24 h.
    actions.run("complete_transfers", {"refuse": True, "external_userids": [refuser]})
    actions.run("complete_transfers", {})
    run_jobs(app, ["callbacks"])
    assert _items(batch["id"])[refuser].status == "refused"
    for _ in range(2):  # the sweep's poll (transfer_result), then nothing left to poll
        handover.sweep(utcnow() + timedelta(minutes=31))
        run_jobs(app, ["messages"])

    detail = api("GET", f"/handovers/{batch['id']}").get_json()
    assert detail["status"] == "done"
    assert detail["counts"]["customer"] == {"done": len(customers) - 1, "refused": 1}
    rows = api("GET", f"/handovers/{batch['id']}/items?status=refused").get_json()
    assert [(r["target_id"], r["reason"]) for r in rows] == [(refuser, "客户拒绝了接替（transfer_fail）")]

    # Our records moved: the manager's sidebar shows the leaver's follow-up, still under its author.
    view = profile.customer_view(TEST_CORP_ID, MANAGER, kept)
    assert [(f["id"], f["userid"], f["content"]) for f in view["follow_ups"]] == [
        (note["id"], LEAVER, "电话沟通了报价，下周回访")]
    assert view["relation"]["status"] == "active"
    handed = [e for e in view["timeline"]["items"] if e["kind"] == "handed_over"]
    assert [(e["kind_label"], e["summary"], e["userid"]) for e in handed] == [
        ("转接完成", f"离职继承：由 {world.staff[LEAVER].name} 转交给 张三", MANAGER)]
    assert db.session.get(FollowUp, note["id"]).assignee_userid == MANAGER  # the reminder goes to them
    old = db.session.scalar(select(FollowRelation).filter_by(userid=LEAVER, external_userid=kept))
    assert old.status == "transferred"
    # The refuser stays with the leaver, waiting (WeCom lists them again for a new batch).
    assert db.session.scalar(select(FollowRelation.status).filter_by(userid=LEAVER, external_userid=refuser)) \
        == "active"
    again = api("POST", "/handovers/resigned", json={"handover_userid": LEAVER})
    assert again.status_code == 201 and again.get_json()["counts"] == {"customer": {"proposed": 1}, "group": {}}
    assert db.session.scalar(select(HandoverBatch.status).filter_by(id=batch["id"])) == "done"


def test_an_on_the_job_reassignment_with_a_message_completes_on_the_callback(app, api, linked):
    world, actions = linked
    mover, successor = "fengting", "xiaojuan"  # 销售二组; xiaojuan leads it
    picked = list(world.staff[mover].relations)[:3]
    chat = next(g.chat_id for g in world.groups.values() if g.owner == mover)
    created = api("POST", "/handovers", json={
        "handover_userid": mover, "external_userids": picked, "chat_ids": [chat], "rule": "manual",
        "takeover_userid": successor, "transfer_success_msg": "您好，之后由我的同事小娟为您服务"})
    assert created.status_code == 201, created.get_json()
    batch = created.get_json()
    assert (batch["kind"], batch["status"]) == ("onjob", "proposed")
    assert api("POST", f"/handovers/{batch['id']}/approve", json={"approved_by": successor}).status_code == 200
    run_jobs(app, ["messages"])
    [call] = api_calls(world, "externalcontact/transfer_customer")
    assert call["body"]["transfer_success_msg"] == "您好，之后由我的同事小娟为您服务"
    assert (call["body"]["handover_userid"], call["body"]["takeover_userid"]) == (mover, successor)
    assert {t.external_userid for t in world.transfers.values() if t.status == 2} == set(picked)
    assert api_calls(world, "externalcontact/groupchat/onjob_transfer")[0]["errcode"] == 0

    actions.run("complete_transfers", {})  # add_external_contact + del_external_contact DELETE_BY_TRANSFER
    run_jobs(app, ["callbacks"])  # completed by the callback, before any poll
    detail = api("GET", f"/handovers/{batch['id']}").get_json()
    assert detail["status"] == "done"
    assert detail["counts"] == {"customer": {"done": 3}, "group": {"done": 1}}
    statuses = dict(db.session.execute(select(FollowRelation.userid, FollowRelation.status).where(
        FollowRelation.external_userid == picked[0], FollowRelation.userid.in_((mover, successor)))).all())
    assert statuses == {mover: "transferred", successor: "active"}
