"""Keeping relation_search (scrm/models/search.py) current: one flat row per follow relation that
the customer list's filters and counts read (scrm/services/customer_search/filters.py).

Every write is set-based — one INSERT … SELECT … ON CONFLICT DO UPDATE for a set of relations,
rewriting only the rows whose values changed — and happens in the writer's own transaction:

* rows the ORM wrote (a FollowRelation, RelationTag, CustomerStage, RelationRisk or Tag added,
  changed or deleted through the session: callbacks, the sidebar's edits, handovers, channel
  tags) are noted at each flush and their relations refreshed when the session commits
  (session hooks below; create_app imports this module so every process has them);
* set-based writers name the relations they touched (``refresh_at_commit``, or ``refresh`` at
  once): the one tagging path (scrm/services/tagging.py), the sync's pages, a staff userid's
  rename, a tag created by the library sync, the churn scoring;
* a set-based writer that has just inserted relations gives their values (``insert_new``: the
  sync's new rows), so their rows are written without reading back what it wrote;
* ``rebuild`` (``flask scrm search rebuild``, and every night after the churn scoring) rewrites
  every row of a corp from the source tables and drops rows of relations that no longer exist:
  the safety net for a writer that was missed or two transactions that raced on one relation.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, and_, delete, event, exists, func, inspect, or_, select, text, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from scrm.db import dialect_insert, insert_rows, matching
from scrm.extensions import db
from scrm.models import CustomerStage, FollowRelation, RelationRisk, RelationTag, Tag
from scrm.models.search import RelationSearch, TagIds
from scrm.sqlfunc import sql_function

FR = FollowRelation.__table__.c
RS = RelationSearch.__table__
COLUMNS = ("relation_id", "corp_id", "userid", "external_userid", "status", "state", "added_at", "stage_id",
           "risk_level", "last_interaction_at", "tag_ids")
CHUNK = 500  # keys per refresh statement (IN lists stay short)
REBUILD_WORK_MEM = "256MB"


# The Tag.id values a scalar subquery selects, as the TagIds column stores them.
tag_id_list = sql_function(
    "tag_id_list", TagIds(), postgresql="coalesce(ARRAY({0}), '{{}}')",
    sqlite="coalesce(',' || (SELECT group_concat(tag_ids_id, ',') FROM ({0}) AS tag_ids_q) || ',', '')")


def _tags_of_relation() -> Any:
    rt, t = RelationTag.__table__.c, Tag.__table__.c
    # A corp tag's tag_key is its tag_id (personal tags have no Tag row); the probe is relation_tag's
    # unique (corp, userid, customer, tag_key) index alone.
    return (select(t.id.label("tag_ids_id"))
            .select_from(RelationTag.__table__.join(Tag.__table__, and_(t.corp_id == rt.corp_id,
                                                                        t.tag_id == rt.tag_key)))
            .where(rt.corp_id == FR.corp_id, rt.userid == FR.userid, rt.external_userid == FR.external_userid)
            .order_by(t.id).correlate(FollowRelation.__table__))


def rows_query(corp_id: str, conditions: Iterable[ColumnElement[bool]] = ()) -> Select:
    """SELECT of the search rows (COLUMNS) of the corp's relations matching ``conditions``."""
    cs, rr = CustomerStage.__table__.c, RelationRisk.__table__.c
    return (select(FR.id, FR.corp_id, FR.userid, FR.external_userid, FR.status, FR.state, FR.added_at,
                   cs.stage_id, rr.level, rr.last_interaction_at, tag_id_list(_tags_of_relation().scalar_subquery()))
            .select_from(FollowRelation.__table__)
            .outerjoin(CustomerStage.__table__,
                       and_(cs.corp_id == FR.corp_id, cs.external_userid == FR.external_userid))
            .outerjoin(RelationRisk.__table__, rr.relation_id == FR.id)
            .where(FR.corp_id == corp_id, *conditions))


def _upsert(session: Session, corp_id: str, conditions: Iterable[ColumnElement[bool]]) -> int:
    insert = dialect_insert(session)
    stmt = insert(RS).from_select(list(COLUMNS), rows_query(corp_id, conditions))
    changing = COLUMNS[1:]
    stmt = stmt.on_conflict_do_update(
        index_elements=[RS.c.relation_id],
        set_={name: stmt.excluded[name] for name in changing},
        where=or_(*(RS.c[name].is_distinct_from(stmt.excluded[name]) for name in changing)))
    if session.get_bind().dialect.name == "postgresql":  # (psycopg has no rowcount for it)
        return session.scalar(select(func.count()).select_from(stmt.returning(RS.c.relation_id).cte("written")))
    return session.execute(stmt).rowcount


def _forget_missing(session: Session, corp_id: str, conditions: Iterable[ColumnElement[bool]]) -> int:
    """Rows (selected by ``conditions`` on relation_search) whose relation is gone. PostgreSQL's
    foreign key cascades already; SQLite does not enforce foreign keys."""
    return session.execute(delete(RS).where(RS.c.corp_id == corp_id, *conditions,
                                            ~exists().where(FR.id == RS.c.relation_id))).rowcount


def refresh(corp_id: str, *, relation_ids: Iterable[int] | Select = (), pairs: Iterable[tuple[str, str]] = (),
            external_userids: Iterable[str] = (), userids: Iterable[str] = (), tag_keys: Iterable[str] = (),
            session: Session | None = None) -> None:
    """Rewrite the search rows of these relations from the source tables: by id (a list, or a
    SELECT of ids), by (userid, external_userid), every relation of these customers, of these
    staff members, or carrying these tags (tag_key). The caller commits."""
    session = session or db.session()
    if isinstance(relation_ids, Select):
        _upsert(session, corp_id, [FR.id.in_(relation_ids)])
        relation_ids = ()
    for chunk in _chunks(relation_ids):
        _upsert(session, corp_id, [FR.id.in_(chunk)])
        _forget_missing(session, corp_id, [RS.c.relation_id.in_(chunk)])
    for chunk in _chunks(pairs):
        # a superset of the pairs (an IN list per column), which both databases probe by index
        _upsert(session, corp_id, matching((FR.userid, FR.external_userid), chunk))
    for chunk in _chunks(external_userids):
        _upsert(session, corp_id, [FR.external_userid.in_(chunk)])
    for chunk in _chunks(userids):
        _upsert(session, corp_id, [FR.userid.in_(chunk)])
        _forget_missing(session, corp_id, [RS.c.userid.in_(chunk)])
    for chunk in _chunks(tag_keys):
        rt = RelationTag.__table__.c
        _upsert(session, corp_id, [exists().where(rt.corp_id == corp_id, rt.tag_key.in_(chunk),
                                                  rt.userid == FR.userid, rt.external_userid == FR.external_userid)])


def insert_new(corp_id: str, relations: list[dict[str, Any]]) -> None:
    """The search rows of relations inserted just now in this transaction, from the values the
    writer inserted (relation_id, userid, external_userid, status, state, added_at, and tag_keys:
    the keys of the relation_tag rows it inserts, perhaps still buffered) instead of read back:
    what ``rows_query`` would select for them. The customers' stages and the tags' ids are read
    (one SELECT each); a relation this new has no relation_risk row. The caller commits."""
    if not relations:
        return
    cs, t = CustomerStage.__table__.c, Tag.__table__.c
    stages = dict(db.session.execute(select(cs.external_userid, cs.stage_id).where(
        cs.corp_id == corp_id, cs.external_userid.in_({r["external_userid"] for r in relations}))).all())
    keys = {key for r in relations for key in r["tag_keys"]}
    tag_ids = dict(db.session.execute(select(t.tag_id, t.id).where(t.corp_id == corp_id, t.tag_id.in_(keys))).all()
                   ) if keys else {}
    insert_rows(RS, [
        {"relation_id": r["relation_id"], "corp_id": corp_id, "userid": r["userid"],
         "external_userid": r["external_userid"], "status": r["status"], "state": r["state"],
         "added_at": r["added_at"], "stage_id": stages.get(r["external_userid"]), "risk_level": None,
         "last_interaction_at": None, "tag_ids": sorted({tag_ids[key] for key in r["tag_keys"] if key in tag_ids})}
        for r in relations])


def _chunks(keys: Iterable) -> Iterable[list]:
    keys = sorted(set(keys))
    for start in range(0, len(keys), CHUNK):
        yield keys[start:start + CHUNK]


def rebuild(corp_id: str) -> dict[str, int]:
    """Every search row of the corp rewritten where it differs from the source tables, rows of
    relations that no longer exist dropped; commits. Returns {"rows", "written", "dropped"}."""
    session = db.session()
    on_postgresql = session.get_bind().dialect.name == "postgresql"
    if on_postgresql:  # room for the hash joins (this transaction only)
        session.execute(text(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'"))
    written = _upsert(session, corp_id, [true()])
    dropped = _forget_missing(session, corp_id, [])
    session.commit()
    if on_postgresql and written + dropped:
        session.execute(text("ANALYZE relation_search"))  # the filters' plans read its statistics
        session.commit()
    rows = session.scalar(select(func.count()).select_from(RS).where(RS.c.corp_id == corp_id)) or 0
    session.commit()
    return {"rows": rows, "written": written, "dropped": dropped}


# --- rows the ORM wrote: noted at flush, refreshed at commit ---------------------------------------

_PENDING = "scrm_relation_search"
_RELATION_COLUMNS = ("userid", "external_userid", "status", "state", "added_at")


def _note(session: Session, corp_id: str, kind: str, key: Any) -> None:
    session.info.setdefault(_PENDING, {}).setdefault(corp_id, {}).setdefault(kind, set()).add(key)


def refresh_at_commit(corp_id: str, *, relation_ids: Iterable[int] = (), pairs: Iterable[tuple[str, str]] = (),
                      external_userids: Iterable[str] = (), userids: Iterable[str] = (),
                      tag_keys: Iterable[str] = ()) -> None:
    """``refresh`` these relations when the session commits (after the rows a set-based writer
    still has to insert, e.g. the sync's buffered tags), once per transaction."""
    session = db.session()
    for kind, keys in (("relation_ids", relation_ids), ("pairs", pairs), ("external_userids", external_userids),
                       ("userids", userids), ("tag_keys", tag_keys)):
        for key in keys:
            _note(session, corp_id, kind, key)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, FollowRelation):
            state = inspect(obj)
            if obj in session.new or obj in session.deleted or any(
                    state.attrs[name].history.has_changes() for name in _RELATION_COLUMNS):
                _note(session, obj.corp_id, "relation_ids", obj.id)
        elif isinstance(obj, RelationTag):
            _note(session, obj.corp_id, "pairs", (obj.userid, obj.external_userid))
        elif isinstance(obj, CustomerStage):
            _note(session, obj.corp_id, "external_userids", obj.external_userid)
        elif isinstance(obj, RelationRisk):
            _note(session, obj.corp_id, "relation_ids", obj.relation_id)
        elif isinstance(obj, Tag) and obj in session.new:
            _note(session, obj.corp_id, "tag_keys", obj.tag_id)


@event.listens_for(Session, "before_commit")
def _refresh_before_commit(session: Session) -> None:
    session.flush()
    for corp_id, keys in session.info.pop(_PENDING, {}).items():
        refresh(corp_id, session=session, **keys)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
