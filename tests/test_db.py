"""scrm.db.insert_rows: the set-based INSERT ... ON CONFLICT DO NOTHING of the sync and the buffered
rows (on PostgreSQL one statement over binary arrays through the driver's cursor, on SQLite an
executemany): the same rows as the ORM writes, defaults filled, conflicts left alone, in the
session's transaction."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scrm.db import insert_rows
from scrm.extensions import db
from scrm.models import Customer, FollowRelation, TimelineEntry
from scrm.models.search import RelationSearch
from tests.conftest import TEST_CORP_ID

AT = datetime(2026, 12, 4, 9, 30, 15, 123456)
TRICKY = 'a "quoted" \\ back\\slash, {brace}, 逗号，and NULL'


def entry(n: int, **more) -> dict:
    return {"corp_id": TEST_CORP_ID, "external_userid": f"wm{n}", "userid": "zhangsan", "kind": "note",
            "source": "sync", "occurred_at": AT, "event_id": None, "summary": TRICKY,
            "data": {"text": TRICKY, "n": n, "list": [1, None, "二"], "flag": False}, **more}


def test_the_rows_are_those_the_orm_writes_with_their_defaults(app):
    db.session.add(TimelineEntry(**entry(1)))
    db.session.flush()
    assert insert_rows(TimelineEntry.__table__, [entry(2), entry(3)]) == []  # nothing asked back
    db.session.commit()
    db.session.expire_all()
    by_customer = {e.external_userid: e for e in db.session.scalars(select(TimelineEntry))}
    orm, *bulk = (by_customer[f"wm{n}"] for n in (1, 2, 3))
    for row in bulk:
        assert (row.summary, row.occurred_at, row.event_id) == (TRICKY, AT, None)
        assert row.data == {**orm.data, "n": row.data["n"]}
        assert row.recorded_at is not None and abs((row.recorded_at - orm.recorded_at).total_seconds()) < 60


def test_only_the_rows_inserted_are_returned_and_a_conflict_changes_nothing(app):
    def customer(key: str, name: str) -> dict:
        return {"corp_id": TEST_CORP_ID, "external_userid": key, "name": name, "created_at": AT, "updated_at": AT}

    first = insert_rows(Customer.__table__, [customer("wmA", "甲"), customer("wmB", "乙")], ("external_userid",))
    assert sorted(first) == [("wmA",), ("wmB",)]
    again = insert_rows(Customer.__table__, [customer("wmB", "改名"), customer("wmC", "丙")],
                        ("external_userid", "name"))
    assert again == [("wmC", "丙")]
    db.session.commit()
    names = dict(db.session.execute(select(Customer.external_userid, Customer.name)).all())
    assert names == {"wmA": "甲", "wmB": "乙", "wmC": "丙"}  # wmB's conflict left it alone
    assert insert_rows(Customer.__table__, []) == []


def test_array_columns_and_their_default(app):
    relations = [FollowRelation(corp_id=TEST_CORP_ID, userid="zhangsan", external_userid=f"wm{n}") for n in range(3)]
    db.session.add_all(relations)
    db.session.commit()  # their search rows are written at commit: start without them
    db.session.execute(RelationSearch.__table__.delete())

    def search_row(n: int, **more) -> dict:
        return {"relation_id": relations[n].id, "corp_id": TEST_CORP_ID, "userid": "zhangsan",
                "external_userid": f"wm{n}", "status": "active", "state": None, "added_at": AT, **more}

    insert_rows(RelationSearch.__table__, [search_row(0, tag_ids=[7, 3]), search_row(1, tag_ids=[])])
    insert_rows(RelationSearch.__table__, [search_row(2)])  # tag_ids absent: its default, []
    db.session.commit()
    tags = dict(db.session.execute(select(RelationSearch.external_userid, RelationSearch.tag_ids)).all())
    assert tags == {"wm0": [3, 7], "wm1": [], "wm2": []}  # read back sorted, as the ORM gives them


def test_the_rows_belong_to_the_sessions_transaction(app):
    insert_rows(TimelineEntry.__table__, [entry(1)])
    assert db.session.scalar(select(TimelineEntry.external_userid)) == "wm1"  # seen by the session's reads
    db.session.rollback()
    assert db.session.scalar(select(TimelineEntry.id)) is None  # and rolled back with it


def test_a_database_error_is_raised_as_sqlalchemys(app):
    """The callers' handling (a retryable OperationalError, a conflict's IntegrityError) sees the
    same exceptions as from any other statement."""
    with pytest.raises(IntegrityError):
        insert_rows(TimelineEntry.__table__, [entry(1, kind=None)])
    db.session.rollback()
