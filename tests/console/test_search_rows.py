"""The customer list's search rows (relation_search) follow every writer at once: a tag change
(the set-based tagging path and the ORM's), a stage change, the churn scoring, a relation added,
ended or merged away by a userid rename, a tag that reaches the library after the relations
carried it; and `flask scrm search rebuild` reproduces the rows the writers left."""
from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import delete, select, update

from scrm.db import ensure_row
from scrm.extensions import db
from scrm.models import FollowRelation, RelationRisk, RelationSearch, RelationTag, Tag
from scrm.services import tagging
from scrm.services.churn import score
from scrm.services.customer_search import search_rows
from scrm.services.events.contacts import rename_userid
from scrm.services.profile.edits import set_stage
from tests.console.customer_data import C, seed

URL = "/console/api/v1/customer-search"


def rows(client, **params) -> list[tuple[str, str]]:
    resp = client.get(URL, query_string=params)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["total"] == len(body["items"])  # the count reads the same rows as the page
    return sorted((r["userid"], r["external_userid"]) for r in body["items"])


def snapshot() -> dict[int, tuple]:
    db.session.expire_all()
    return {row.relation_id: (row.corp_id, row.userid, row.external_userid, row.status, row.state, row.added_at,
                              row.stage_id, row.risk_level, row.last_interaction_at, tuple(row.tag_ids))
            for row in db.session.scalars(select(RelationSearch))}


def test_every_relation_has_its_row_as_seeded(admin_client):
    seed()
    found = snapshot()
    assert len(found) == db.session.query(FollowRelation).count() == 5
    tag_ids = dict(db.session.execute(select(Tag.tag_id, Tag.id)).tuples().all())
    by_pair = {(r[1], r[2]): r for r in found.values()}
    assert by_pair[("alice", "wmc1")][9] == tuple(sorted([tag_ids["vip"], tag_ids["hot"]]))
    assert by_pair[("bob", "wmc2")][9] == (tag_ids["hot"],)  # the personal tag is no corp tag
    assert by_pair[("alice", "wmc2")][7] == "dormant" and by_pair[("carol", "wmc4")][6] is not None
    assert by_pair[("bob", "wmc3")][3] == "deleted_by_customer"


def test_a_tag_change_shows_at_once(admin_client):
    seed()
    assert rows(admin_client, tag_id="vip") == [("alice", "wmc1"), ("alice", "wmc2"), ("carol", "wmc4")]
    # the one tagging path (bulk actions, the churn mirror): set-based, committed by the caller
    tagging.record_changes(C, [("bob", "wmc2")], add=["vip"], remove=[])
    tagging.record_changes(C, [("alice", "wmc2")], add=[], remove=["vip"])
    db.session.commit()
    assert rows(admin_client, tag_id="vip") == [("alice", "wmc1"), ("bob", "wmc2"), ("carol", "wmc4")]
    assert rows(admin_client, tag_id=["vip", "hot"], tag_mode="all") == [
        ("alice", "wmc1"), ("bob", "wmc2"), ("carol", "wmc4")]
    # a row the ORM deletes (the sidebar's edit, a callback's replace_tags)
    db.session.delete(db.session.scalar(select(RelationTag).filter_by(userid="carol", tag_key="hot")))
    db.session.commit()
    assert rows(admin_client, tag_id="hot") == [("alice", "wmc1"), ("bob", "wmc2")]


def test_a_stage_change_shows_on_every_relation_of_the_customer(admin_client):
    data = seed()
    won = data["stages"][1]
    assert rows(admin_client, stage_id=won) == [("carol", "wmc4")]
    set_stage(C, "alice", "wmc2", won)  # the sidebar's edit (commits)
    assert rows(admin_client, stage_id=won) == [("alice", "wmc2"), ("bob", "wmc2"), ("carol", "wmc4")]
    set_stage(C, "carol", "wmc4", None)
    assert rows(admin_client, stage_id=won) == [("alice", "wmc2"), ("bob", "wmc2")]


def test_the_churn_scoring_shows_its_levels(admin_client):
    seed()
    assert rows(admin_client, risk_level="lost", status="deleted_by_customer") == []
    score.score(C, datetime(2026, 6, 1), date(2026, 6, 1), fold_since=None)
    db.session.commit()
    levels = dict(db.session.execute(select(RelationRisk.relation_id, RelationRisk.level)).tuples().all())
    assert snapshot_levels() == levels
    # the customer deleted bob: lost, found in the search as soon as the scoring commits
    assert rows(admin_client, risk_level="lost", status="deleted_by_customer") == [("bob", "wmc3")]


def snapshot_levels() -> dict[int, str | None]:
    return {relation_id: values[7] for relation_id, values in snapshot().items()}


def test_a_new_relation_and_an_ended_one_show_at_once(admin_client):
    seed()
    # as the callbacks and the sync add one: INSERT … ON CONFLICT, then the values
    relation, created = ensure_row(FollowRelation, corp_id=C, userid="carol", external_userid="wmc1")
    relation.status, relation.added_at, relation.state = "active", datetime(2026, 5, 5), "poster"
    db.session.commit()
    assert created
    assert ("carol", "wmc1") in rows(admin_client)
    assert rows(admin_client, state="poster") == [("alice", "wmc1"), ("carol", "wmc1")]
    relation.status = "deleted_by_staff"  # the del_external_contact handler
    db.session.commit()
    assert ("carol", "wmc1") not in rows(admin_client)
    assert rows(admin_client, status="deleted_by_staff") == [("carol", "wmc1")]


def test_a_userid_rename_moves_and_merges_the_rows(admin_client):
    seed()
    # bob is renamed alice2, and a sync had already stored alice2's relation with wmc3
    db.session.add(FollowRelation(corp_id=C, userid="alice2", external_userid="wmc3", status="active",
                                  added_at=datetime(2026, 6, 1)))
    db.session.commit()
    rename_userid(C, "bob", "alice2")
    db.session.commit()
    assert rows(admin_client, owner="bob") == []
    assert rows(admin_client, owner="alice2") == [("alice2", "wmc2"), ("alice2", "wmc3")]
    relation_ids = set(db.session.scalars(select(FollowRelation.id)))
    assert set(snapshot()) == relation_ids  # bob's merged-away row is gone


def test_a_tag_reaching_the_library_after_the_relations_matches(admin_client):
    seed()
    db.session.add(RelationTag(corp_id=C, userid="carol", external_userid="wmc4", tag_key="new", tag_id="new",
                               tag_name="新标签", type=1))
    db.session.commit()
    assert rows(admin_client, tag_id="new") == []  # not in the library: no such tag to match
    db.session.add(Tag(corp_id=C, tag_id="new", group_id="g1", name="新标签"))
    db.session.commit()
    assert rows(admin_client, tag_id="new") == [("carol", "wmc4")]


def test_the_rebuild_reproduces_the_rows(app, runner):
    seed()
    tagging.record_changes(C, [("bob", "wmc2")], add=["vip"], remove=[])
    score.score(C, datetime(2026, 6, 1), date(2026, 6, 1), fold_since=None)
    db.session.commit()
    kept = snapshot()
    # lose one row, spoil another
    first, second = sorted(kept)[:2]
    db.session.execute(delete(RelationSearch).where(RelationSearch.relation_id == first))
    db.session.execute(update(RelationSearch).where(RelationSearch.relation_id == second)
                       .values(risk_level="active", tag_ids=[], stage_id=None))
    db.session.commit()
    assert snapshot() != kept
    result = runner.invoke(args=["scrm", "search", "rebuild"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["rows"] == 5 and figures["written"] >= 2
    assert snapshot() == kept
    assert search_rows.rebuild(C)["written"] == 0  # nothing differs any more
