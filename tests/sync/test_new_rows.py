"""The customers stage's set-based path for new rows (scrm/services/sync/new_rows.py) writes what the
callback handlers' upserts write, and leaves rows someone else inserted meanwhile to the handlers."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from scrm import clock
from scrm.db import ensure_rows
from scrm.extensions import db
from scrm.models import Customer, FollowRelation, RelationTag, SyncRun, TimelineEntry
from scrm.models.search import RelationSearch
from scrm.services.events.customers import CUSTOMER_FIELDS, customer_values
from scrm.services.sync import customers as customers_stage
from scrm.services.sync import new_rows
from tests.conftest import TEST_CORP_ID
from tests.sync.fake import Relation

IGNORED = {"id", "created_at", "updated_at", "recorded_at", "occurred_at", "status_changed_at", "seen_run_id",
           "relation_id"}


def rows(model, *order) -> list[dict]:
    """Every row of the table, without ids and times (they differ between two imports)."""
    table = model.__table__
    return [{k: v for k, v in row._mapping.items() if k not in IGNORED}
            for row in db.session.execute(select(table).order_by(*(table.c[c] for c in order)))]


def snapshot() -> dict[str, list[dict]]:
    db.session.expire_all()
    return {
        "customer": rows(Customer, "external_userid"),
        "follow_relation": rows(FollowRelation, "userid", "external_userid"),
        "relation_tag": rows(RelationTag, "userid", "external_userid", "tag_key"),
        "timeline_entry": [e for e in rows(TimelineEntry, "external_userid", "userid", "kind")
                           if e["kind"] != "joined_group"],  # the groups stage's, not re-imported
        "relation_search": rows(RelationSearch, "userid", "external_userid"),
    }


def forget_customers() -> None:
    with db.engine.begin() as conn:
        for model in (RelationSearch, TimelineEntry, RelationTag, FollowRelation, Customer):
            conn.execute(model.__table__.delete())


def through_the_handlers(monkeypatch) -> None:
    """No row is new to the set-based path: every page goes through the handlers' upserts (the
    customers inserted with their columns, as ensure_rows did before, the relations by the handlers)."""
    def insert_customers(corp_id, contacts):
        blank = dict.fromkeys(CUSTOMER_FIELDS)
        ensure_rows(Customer, corp_id, ("external_userid",), [(key,) for key in contacts],
                    values=lambda key: {**blank, **customer_values(contacts[key[0]])})
        return set()

    monkeypatch.setattr(new_rows, "insert_customers", insert_customers)
    monkeypatch.setattr(new_rows, "insert_relations", lambda *args: {})


def test_a_first_import_stores_what_the_handlers_store(corp, run_sync, monkeypatch):
    corp.add_customer("wmC6", "客户六", "lisi", remark="备注", tag_ids=("etA", "etUnknown"))  # a tag not in the library
    corp.relation("lisi", "wmC6").description = "说明"
    run = run_sync(full=True)
    assert run.status == "succeeded" and run.error_count == 0
    set_based = snapshot()
    relations = db.session.scalars(select(FollowRelation)).all()
    assert relations and all(r.seen_run_id == run.id and r.status == "active" for r in relations)
    assert all(r.status_changed_at is not None for r in relations)

    forget_customers()
    through_the_handlers(monkeypatch)
    assert run_sync(full=True).status == "succeeded"
    by_handlers = snapshot()

    assert set_based == by_handlers
    assert len(set_based["follow_relation"]) == 7 and len(set_based["relation_search"]) == 7
    tags = {(t["userid"], t["external_userid"], t["tag_key"]): t for t in set_based["relation_tag"]}
    assert tags[("lisi", "wmC6", "etUnknown")]["type"] is None and tags[("lisi", "wmC6", "etA")]["type"] == 1
    added = [e for e in set_based["timeline_entry"] if e["kind"] == "relation_added"]
    assert len(added) == 7 and all(e["source"] == "sync" for e in added)
    data = {e["external_userid"]: e["data"] for e in added}["wmC6"]
    assert data.keys() == {"state", "add_way", "re_added", "discovered"}
    assert (data["re_added"], data["discovered"]) == (False, True)


def test_a_second_import_after_the_set_based_one_changes_nothing(corp, run_sync):
    run_sync(full=True)
    before = snapshot()
    run = run_sync(full=True)
    assert run.progress["customers"]["unchanged"] == 6
    assert snapshot() == before


def test_rows_a_callback_inserted_after_the_pages_select_go_through_the_handlers(corp, run_sync, monkeypatch):
    """The page's SELECT found nothing, then a callback committed wmC1 and zhangsan–wmC1 (another
    remark, stamped an hour ago): the INSERTs conflict on them, and the handlers update them."""
    an_hour_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    real = customers_stage.unchanged_relations

    def select_then_callback(corp_id, contacts, pairs, tag_names):
        unchanged, stored = real(corp_id, contacts, pairs, tag_names)
        if ("zhangsan", "wmC1") in pairs:
            clock.freeze(an_hour_ago)
            db.session.add(Customer(corp_id=TEST_CORP_ID, external_userid="wmC1", name="旧名"))
            db.session.add(FollowRelation(corp_id=TEST_CORP_ID, userid="zhangsan", external_userid="wmC1",
                                          remark="旧备注", status="active"))
            db.session.flush()
            clock.freeze(None)
        return unchanged, stored

    monkeypatch.setattr(customers_stage, "unchanged_relations", select_then_callback)
    run = run_sync(full=True)

    db.session.expire_all()
    assert run.status == "succeeded"
    relation = db.session.scalars(select(FollowRelation).filter_by(userid="zhangsan", external_userid="wmC1")).one()
    assert relation.remark == "老客户" and relation.seen_run_id == run.id
    assert db.session.scalars(select(Customer).filter_by(external_userid="wmC1")).one().name == "客户一"
    entries = [(e.kind, e.userid) for e in db.session.scalars(
        select(TimelineEntry).filter_by(external_userid="wmC1").order_by(TimelineEntry.id)) if e.kind != "joined_group"]
    # the handlers saw a relation they knew: its edit and the customer's, no second relation_added
    assert sorted(entries) == [("customer_updated", None), ("relation_updated", "zhangsan")]
    assert {t.tag_key for t in db.session.scalars(select(RelationTag).filter_by(external_userid="wmC1"))} == {"etA"}
    assert db.session.scalar(select(RelationSearch.status).filter_by(relation_id=relation.id)) == "active"
    assert db.session.get(SyncRun, run.id).progress["customers"]["done"] == 6


def test_a_row_a_callback_changed_after_the_page_was_fetched_is_left_alone(corp, run_sync, monkeypatch):
    real = customers_stage.unchanged_relations

    def select_then_callback(corp_id, contacts, pairs, tag_names):
        unchanged, stored = real(corp_id, contacts, pairs, tag_names)
        if ("zhangsan", "wmC1") in pairs:
            clock.freeze(datetime.now(UTC) + timedelta(minutes=1))  # after the page's fetch
            db.session.add(FollowRelation(corp_id=TEST_CORP_ID, userid="zhangsan", external_userid="wmC1",
                                          remark="回调的备注", status="active"))
            db.session.flush()
            clock.freeze(None)
        return unchanged, stored

    monkeypatch.setattr(customers_stage, "unchanged_relations", select_then_callback)
    assert run_sync(full=True).status == "succeeded"

    db.session.expire_all()
    relation = db.session.scalars(select(FollowRelation).filter_by(userid="zhangsan", external_userid="wmC1")).one()
    assert relation.remark == "回调的备注"
    assert db.session.scalars(select(TimelineEntry).filter_by(external_userid="wmC1", userid="zhangsan",
                                                              kind="relation_added")).all() == []


def test_a_new_relation_of_a_known_customer_is_inserted_beside_it(corp, run_sync, monkeypatch):
    """Second sync: wmC1 is stored and unchanged, lisi–wmC1 is new: only the relation, its tag, its
    relation_added entry and its search row are inserted; the customer row is not written again."""
    run_sync(full=True)
    customer_before = rows(Customer, "external_userid")
    corp.relations.append(Relation("lisi", "wmC1", remark="新关系", tag_ids=["etB"]))
    inserted: list = []
    real = new_rows.insert_relations

    def spy(*args, **kwargs):
        found = real(*args, **kwargs)
        inserted.extend(found)
        return found

    monkeypatch.setattr(new_rows, "insert_relations", spy)
    run = run_sync(full=True)

    assert inserted == [("lisi", "wmC1")]  # the set-based path, not the handlers
    db.session.expire_all()
    assert run.status == "succeeded" and run.progress["customers"]["unchanged"] == 6
    assert rows(Customer, "external_userid") == customer_before
    relation = db.session.scalars(select(FollowRelation).filter_by(userid="lisi", external_userid="wmC1")).one()
    assert (relation.status, relation.remark, relation.seen_run_id) == ("active", "新关系", run.id)
    assert [t.tag_key for t in db.session.scalars(select(RelationTag).filter_by(userid="lisi",
                                                                              external_userid="wmC1"))] == ["etB"]
    entries = [(e.kind, e.userid, e.source) for e in db.session.scalars(
        select(TimelineEntry).filter_by(external_userid="wmC1").where(TimelineEntry.kind != "joined_group")
        .order_by(TimelineEntry.id))]
    assert entries == [("relation_added", "zhangsan", "sync"), ("relation_added", "lisi", "sync")]
    assert db.session.scalar(select(RelationSearch.status).filter_by(relation_id=relation.id)) == "active"
