"""Callbacks that land while a sync page is in flight are not overwritten by the page's older data."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, func, select

from scrm import clock
from scrm.extensions import db
from scrm.models import CallbackEvent, FollowRelation, TimelineEntry
from scrm.services import inbox
from scrm.services.sync import engine
from tests.helpers import event_xml, post_callback


def deliver_during(corp, app, client, path: str, xml: str, before=None, after=None, cursor: str = "") -> None:
    """While WeCom prepares its reply to `path` at `cursor`, a callback arrives and is processed."""

    def callback_meanwhile(args):
        if args.get("cursor", "") != cursor:
            return
        corp.on_call.pop(path)
        if before:
            before()
        with app.app_context():  # a callback worker (RQ's own worker only runs in the main thread)
            assert post_callback(client, xml).status_code == 200
            event = db.session.scalars(select(CallbackEvent).order_by(CallbackEvent.id.desc())).first()
            assert inbox.process(event.id) == "processed"
        if after:
            after()

    corp.on_call[path] = callback_meanwhile


def relation(userid: str, external_userid: str) -> FollowRelation:
    return db.session.scalars(select(FollowRelation).filter_by(userid=userid, external_userid=external_userid)).one()


def imported_an_hour_ago(run_sync) -> None:
    clock.freeze(datetime.now(UTC) - timedelta(hours=1))
    run_sync()
    clock.freeze(None)


def test_a_deletion_during_the_sync_is_not_undone_by_the_older_page(corp, app, client, run_sync):
    imported_an_hour_ago(run_sync)
    deliver_during(corp, app, client, "externalcontact/batch/get_by_user",
                   event_xml("change_external_contact", "del_follow_user", UserID="zhangsan",
                             ExternalUserID="wmC1", create_time=int(time.time())))

    run = run_sync(full=True)  # its first page still lists zhangsan–wmC1 as a friend

    db.session.expire_all()
    assert run.status == "succeeded"
    assert relation("zhangsan", "wmC1").status == "deleted_by_customer"
    kinds = [(e.kind, e.source) for e in db.session.scalars(
        select(TimelineEntry).filter_by(external_userid="wmC1", userid="zhangsan").order_by(TimelineEntry.id))
        if e.kind != "joined_group"]
    assert kinds == [("relation_added", "sync"), ("deleted_by_customer", "callback")]  # not re-added


def test_an_edit_during_the_sync_keeps_the_newer_remark(corp, app, client, run_sync):
    imported_an_hour_ago(run_sync)
    current = corp.relation("zhangsan", "wmC3")

    def edit_in_wecom():
        current.remark = "新备注"

    def page_was_read_before_the_edit():
        current.remark = ""

    deliver_during(corp, app, client, "externalcontact/batch/get_by_user",
                   event_xml("change_external_contact", "edit_external_contact", UserID="zhangsan",
                             ExternalUserID="wmC3", create_time=int(time.time())),
                   before=edit_in_wecom, after=page_was_read_before_the_edit, cursor="c2")  # wmC3's page

    run_sync()

    db.session.expire_all()
    assert relation("zhangsan", "wmC3").remark == "新备注"
    sources = [e.source for e in db.session.scalars(select(TimelineEntry).filter_by(kind="relation_updated"))]
    assert sources == ["callback"]  # the sync did not write its older remark back


def test_the_pages_applied_are_committed_before_the_sync_waits_for_wecom_on_sqlite(corp, app, run_sync, monkeypatch):
    """SQLite has one writer: the sync commits what it applied before waiting for WeCom's next
    page, so a callback arriving meanwhile can write (its inbox insert gives up after 1 s and
    spools). PostgreSQL keeps sharing a transaction between pages for COMMIT_SECONDS."""
    monkeypatch.setattr(engine, "COMMIT_SECONDS", 3600.0)
    other = create_engine(db.engine.url)  # a connection of its own, as the callback view's insert
    seen = []

    def while_wecom_prepares_page_2(args):
        if args.get("cursor", "") != "c2":
            return
        corp.on_call.pop("externalcontact/batch/get_by_user")
        deadline = time.monotonic() + 3
        while True:
            with other.connect() as conn:
                count = conn.scalar(select(func.count()).select_from(FollowRelation))
            if count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        seen.append(count)

    corp.on_call["externalcontact/batch/get_by_user"] = while_wecom_prepares_page_2
    run = run_sync(concurrency=1)
    other.dispose()

    assert run.status == "succeeded"
    assert seen == ([2] if db.engine.dialect.name == "sqlite" else [0])  # page 1's two relations
