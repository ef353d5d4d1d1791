"""A run with both the customers and the groups stage runs them at once (runner.customers_and_groups):
the pages of both are applied by the one writing thread as they come, within one limit of calls in
flight, and each stage keeps its own cursors."""
from __future__ import annotations

import threading
import time

from scrm.extensions import db
from scrm.models import FollowRelation, GroupChat, GroupMember
from scrm.services.sync import customers as customers_stage
from scrm.services.sync import groups as groups_stage


def test_groups_pages_are_applied_while_the_customers_stage_pages(corp, run_sync, monkeypatch):
    applied: list[str] = []
    group_page = threading.Event()
    real_contacts, real_details = customers_stage.apply_contacts, groups_stage.apply_details

    def apply_contacts(*args, **kwargs):
        applied.append("customers")
        return real_contacts(*args, **kwargs)

    def apply_details(*args, **kwargs):
        applied.append("groups")
        result = real_details(*args, **kwargs)
        group_page.set()
        return result

    def after_a_group_page(args):
        if args.get("cursor") == "c4":  # the customers stage's last page waits for a groups page
            assert group_page.wait(10)

    monkeypatch.setattr(customers_stage, "apply_contacts", apply_contacts)
    monkeypatch.setattr(groups_stage, "apply_details", apply_details)
    corp.on_call["externalcontact/batch/get_by_user"] = after_a_group_page

    run = run_sync(full=True)

    assert run.status == "succeeded" and run.error_count == 0
    assert applied.index("groups") < len(applied) - 1 - applied[::-1].index("customers")
    assert [run.progress[s]["status"] for s in ("customers", "groups")] == ["done", "done"]
    assert run.checkpoint == {}
    assert db.session.query(FollowRelation).count() == 6
    assert db.session.query(GroupChat).count() == 3 and db.session.query(GroupMember).count() == 9


def test_both_stages_share_the_limit_of_calls_in_flight(corp, run_sync):
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def slow(args):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1

    for path in ("externalcontact/batch/get_by_user", "externalcontact/groupchat/list",
                 "externalcontact/groupchat/get"):
        corp.on_call[path] = slow

    assert run_sync(full=True, concurrency=2).status == "succeeded"
    assert 1 <= most[0] <= 2  # never more calls in flight than the limit, whichever stage makes them


def test_a_groups_only_run_is_the_groups_stage_alone(corp, run_sync):
    run = run_sync(["groups"])

    assert run.status == "succeeded" and "customers" not in run.progress
    assert db.session.query(GroupChat).count() == 3
