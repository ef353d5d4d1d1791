"""The nightly RFE score and risk level of every relation of a corp, in set-based SQL: a handful
of statements whatever the number of relations (no per-row Python), on PostgreSQL and SQLite.

Per relation (relation_risk), from relation_activity_day, follow_relation and group_member:

* silent since: the later of the last interaction and the add (a re-add counts); days silent are
  counted from it;
* recency R (0..5): silent ≤ 3 days 5, ≤ 7 4, ≤ 14 3, ≤ 30 2, ≤ 90 1, else 0;
* frequency F (0..5): x = days with an interaction in the last 30 + in the last 90 (recent days
  count twice): x 0 → 0, 1–2 → 1, 3–5 → 2, 6–9 → 3, 10–19 → 4, ≥ 20 → 5;
* engagement E (0..5): days the customer wrote in the last 90 (0 → 0, 1 → 1, 2–3 → 2, 4–7 → 3,
  ≥ 8 → 4), + 1 when the customer is in a group the member owns;
* score = 8R + 6F + 6E (0..100);
* level: lost when the customer deleted the member, the member deleted the customer (not a
  transfer) or a sync found the relation gone; else by days silent against the relation's
  thresholds: ≥ lost_days lost, ≥ dormant_days dormant, ≥ cooling_days cooling, else active.

Thresholds: the relation's segment (the ChurnThreshold of kind "tag" matching one of its corp
tags, or of kind "stage" matching the customer's funnel stage; lowest priority wins, tag before
stage), else the corp's row of kind "corp", else SCRM_CHURN_COOLING_DAYS / _DORMANT_DAYS /
_LOST_DAYS (14 / 30 / 90).

One UPDATE … FROM a night: the activity days are folded into the last interactions, the
inputs are computed once per row (a subquery PostgreSQL does not flatten) and a row is written
only when something in it changes (a bucket, a count, the level; days silent are counted on
reading), so a quiet night writes little. Then one INSERT … SELECT puts the level changes made
by this run (not the first level a relation gets) on the customer timeline (kind "churn_risk").
On PostgreSQL the transaction gets WORK_MEM, and relation_risk has fillfactor 70 (migration
0011) so most rewrites are HOT updates.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import aliased

from scrm.config import settings
from scrm.extensions import db
from scrm.models import (
    ChurnThreshold,
    CustomerStage,
    FollowRelation,
    GroupChat,
    GroupMember,
    RelationActivityDay,
    RelationRisk,
    RelationSearch,
    RelationStatus,
    RelationTag,
    TimelineEntry,
)
from scrm.models.churn import RISK_LABELS, RiskLevel
from scrm.services.customer_search import search_rows
from scrm.sqlfunc import sql_function

ENDED = (RelationStatus.DELETED_BY_CUSTOMER, RelationStatus.DELETED_BY_STAFF, RelationStatus.DELETED_UNKNOWN)
TIMELINE_KIND = "churn_risk"
WORK_MEM = "128MB"  # PostgreSQL, the scoring transaction only
# Bulk statements leave the session alone: no RETURNING of every id updated into Python (the
# ORM's "fetch" synchronisation), so memory does not grow with the relations.
BULK = {"synchronize_session": False}


# Whole days from ``earlier`` (a column) to ``now`` (a bound datetime): days_since(now, earlier).
days_since = sql_function(
    "days_since", Integer(),
    postgresql="CAST(FLOOR(EXTRACT(EPOCH FROM (CAST({0} AS TIMESTAMP) - {1})) / 86400) AS INTEGER)",
    sqlite="CAST(julianday({0}) - julianday({1}) AS INTEGER)")
# A JSON object from key, value, key, value … (json_build_object / json_object).
json_pairs = sql_function("json_pairs", JSON(), postgresql="json_build_object({args})", sqlite="json_object({args})")


@dataclass(frozen=True)
class Defaults:
    cooling_days: int
    dormant_days: int
    lost_days: int


def corp_defaults(corp_id: str) -> Defaults:
    row = db.session.scalar(select(ChurnThreshold).filter_by(corp_id=corp_id, kind="corp"))
    if row is not None:
        return Defaults(row.cooling_days, row.dormant_days, row.lost_days)
    cfg = settings()
    return Defaults(cfg.churn_cooling_days, cfg.churn_dormant_days, cfg.churn_lost_days)


def _buckets(value, bounds: tuple[tuple[int, int], ...], otherwise: int):
    """CASE value <= bound THEN points … (bounds ascending)."""
    return case(*((value <= bound, points) for bound, points in bounds), else_=otherwise)


def _segments(corp_id: str):
    """(userid, external_userid, threshold id and days) of the segment each relation is in, or None
    when the corp has no segment thresholds."""
    t, rt, cs, fr = ChurnThreshold, RelationTag, CustomerStage, FollowRelation
    has = db.session.scalar(select(func.count()).select_from(t).where(t.corp_id == corp_id, t.kind != "corp"))
    if not has:
        return None
    cols = (t.id, t.priority, t.kind, t.cooling_days, t.dormant_days, t.lost_days)
    by_tag = (select(rt.userid, rt.external_userid, *cols)
              .join(t, and_(t.corp_id == rt.corp_id, t.kind == "tag", t.value == rt.tag_id))
              .where(rt.corp_id == corp_id))
    by_stage = (select(fr.userid, fr.external_userid, *cols)
                .select_from(cs)
                .join(t, and_(t.corp_id == cs.corp_id, t.kind == "stage", t.value == cast(cs.stage_id, String)))
                .join(fr, and_(fr.corp_id == cs.corp_id, fr.external_userid == cs.external_userid))
                .where(cs.corp_id == corp_id))
    candidates = union_all(by_tag, by_stage).subquery("candidates")
    c = candidates.c
    ranked = select(c.userid, c.external_userid, c.id, c.cooling_days, c.dormant_days, c.lost_days,
                    func.row_number().over(partition_by=(c.userid, c.external_userid),
                                           order_by=(c.priority, c.kind.desc(), c.id)).label("rn")).subquery("ranked")
    return select(ranked).where(ranked.c.rn == 1).subquery("segment")


def _new_values(corp_id: str, now: datetime, today: date, defaults: Defaults, fold_since: date | None, *,
                missing: bool = False, empty: bool = False, touched_since: datetime | None = None):
    """Each relation's new values: of the relation_risk rows (``missing`` False: column ``id``), or
    of the follow relations without one yet (True: columns corp_id, relation_id, userid,
    external_userid instead)."""
    r, fr, a, g, m = aliased(RelationRisk, name="r"), FollowRelation, RelationActivityDay, GroupChat, GroupMember
    d30, d90 = today - timedelta(days=29), today - timedelta(days=89)
    folded = a.day >= fold_since if fold_since is not None else None
    # One pass over the activity days: the 30 / 90-day counts, and the last interactions of the
    # days folded in (the last two, or all of them on the first run).
    first = d90 if fold_since is None else min(d90, fold_since)
    activity = (select(a.relation_id,
                       func.sum(case((a.day >= d30, 1), else_=0)).label("d30"),
                       func.sum(case((a.day >= d90, 1), else_=0)).label("d90"),
                       func.sum(case((and_(a.day >= d90, a.inbound > 0), 1), else_=0)).label("replies"),
                       func.max(a.last_at if folded is None else case((folded, a.last_at))).label("last_at"),
                       func.max(a.last_inbound_at if folded is None else case((folded, a.last_inbound_at)))
                       .label("last_inbound_at"))
                .where(a.corp_id == corp_id, a.day <= today, *([a.day >= first] if fold_since is not None else []))
                .group_by(a.relation_id)).subquery("activity")
    groups = (select(g.owner, m.member_id).distinct()
              .select_from(m).join(g, and_(g.corp_id == m.corp_id, g.chat_id == m.chat_id))
              .where(m.corp_id == corp_id, m.type == 2, m.quit_time.is_(None), g.status == "active",
                     g.owner.is_not(None))).subquery("groups")
    segment = _segments(corp_id)

    def later(column, new):
        return case((and_(new.is_not(None), or_(column.is_(None), new > column)), new), else_=column)

    last_at = activity.c.last_at if missing else later(r.last_interaction_at, activity.c.last_at)
    last_inbound_at = (activity.c.last_inbound_at if missing
                       else later(r.last_inbound_at, activity.c.last_inbound_at))
    added = func.coalesce(fr.added_at, fr.created_at)
    silent_since = case((and_(last_at.is_not(None), last_at > added), last_at), else_=added)

    def threshold(name: str):
        default = literal(getattr(defaults, name), Integer)
        return func.coalesce(getattr(segment.c, name), default) if segment is not None else default

    # The inputs per relation, computed once per row: OFFSET 0 keeps PostgreSQL from flattening
    # this into the statement (which would repeat the days-silent expression in every bucket).
    keys = ((fr.corp_id, fr.id.label("relation_id"), fr.userid, fr.external_userid) if missing else (r.id,))
    base = (select(*keys, fr.status, last_at.label("last_at"), last_inbound_at.label("last_inbound_at"),
                   silent_since.label("silent_since"), days_since(literal(now), silent_since).label("silent"),
                   func.coalesce(activity.c.d30, 0).label("d30"), func.coalesce(activity.c.d90, 0).label("d90"),
                   func.coalesce(activity.c.replies, 0).label("replies"),
                   groups.c.owner.is_not(None).label("in_group"),
                   threshold("cooling_days").label("cooling"), threshold("dormant_days").label("dormant"),
                   threshold("lost_days").label("lost"),
                   (segment.c.id if segment is not None else literal(None, Integer)).label("threshold_id"))
            .select_from(fr if missing else r))
    if missing:
        # No anti-join when the corp has no rows yet (a first scoring): on PostgreSQL one against
        # a table analyzed as empty is planned as a nested loop whose inner scan reads the rows
        # this very INSERT adds, which is quadratic.
        base = base.where(fr.corp_id == corp_id, fr.status != RelationStatus.TRANSFERRED.value,
                          *([] if empty else [~exists().where(r.relation_id == fr.id)]),
                          *([fr.updated_at >= touched_since] if touched_since is not None else []))
    else:
        base = base.join(fr, fr.id == r.relation_id).where(r.corp_id == corp_id)
    base = (base.outerjoin(activity, activity.c.relation_id == fr.id)
            .outerjoin(groups, and_(groups.c.owner == fr.userid, groups.c.member_id == fr.external_userid)))
    if segment is not None:
        base = base.outerjoin(segment, and_(segment.c.userid == fr.userid,
                                            segment.c.external_userid == fr.external_userid))
    b = base.offset(0).subquery("base")
    ended = b.c.status.in_([str(s) for s in ENDED])
    silent = b.c.silent
    level = case((ended, RiskLevel.LOST.value), (silent >= b.c.lost, RiskLevel.LOST.value),
                 (silent >= b.c.dormant, RiskLevel.DORMANT.value),
                 (silent >= b.c.cooling, RiskLevel.COOLING.value), else_=RiskLevel.ACTIVE.value)
    reason = case((ended, b.c.status), (silent >= b.c.cooling, "silent"), else_=None)
    recency = case((ended, 0), else_=_buckets(silent, ((3, 5), (7, 4), (14, 3), (30, 2), (90, 1)), 0))
    frequency = _buckets(b.c.d30 + b.c.d90, ((0, 0), (2, 1), (5, 2), (9, 3), (19, 4)), 5)
    engagement = _buckets(b.c.replies, ((0, 0), (1, 1), (3, 2), (7, 3)), 4) + case((b.c.in_group, 1), else_=0)
    keys = (b.c.corp_id, b.c.relation_id, b.c.userid, b.c.external_userid) if missing else (b.c.id,)
    return select(*keys, b.c.last_at.label("last_interaction_at"), b.c.last_inbound_at, b.c.silent_since,
                  b.c.d30.label("active_days_30"), b.c.d90.label("active_days_90"),
                  b.c.replies.label("reply_days_90"), cast(b.c.in_group, Boolean).label("in_group"),
                  recency.label("recency"), frequency.label("frequency"), engagement.label("engagement"),
                  (recency * 8 + frequency * 6 + engagement * 6).label("score"), b.c.threshold_id,
                  reason.label("reason"), level.label("level")).subquery("n")


SCORED = ("last_interaction_at", "last_inbound_at", "silent_since", "active_days_30", "active_days_90",
          "reply_days_90", "in_group", "recency", "frequency", "engagement", "score", "threshold_id", "reason")


def _drop_transferred(corp_id: str) -> None:
    fr, r = FollowRelation, RelationRisk
    db.session.execute(delete(r).where(r.corp_id == corp_id, r.relation_id.in_(
        select(fr.id).where(fr.corp_id == corp_id, fr.status == RelationStatus.TRANSFERRED.value))),
        execution_options=BULK)


def _insert_missing(corp_id: str, now: datetime, today: date, defaults: Defaults, fold_since: date | None,
                    touched_since: datetime | None) -> int:
    """Rows for the relations without one (only those created or changed since ``touched_since``
    when given), their values computed as they go in (a first scoring is one INSERT … SELECT).
    Returns how many."""
    before = _count(corp_id)
    n = _new_values(corp_id, now, today, defaults, fold_since, missing=True, empty=not before,
                    touched_since=touched_since if before else None)
    columns = ["corp_id", "relation_id", "userid", "external_userid", *SCORED, "level"]
    query = select(*(n.c[name] for name in columns), literal(now).label("scored_at"),
                   literal(now).label("level_changed_at"))
    db.session.execute(insert(RelationRisk).from_select([*columns, "scored_at", "level_changed_at"], query))
    added = _count(corp_id) - before
    if added > max(1000, before // 10) and _postgresql():
        db.session.execute(text("ANALYZE relation_risk"))  # for the next nights' plans
    return added


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _count(corp_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(RelationRisk).where(RelationRisk.corp_id == corp_id)) or 0


def _label(column):
    return case(*((column == level.value, label) for level, label in RISK_LABELS.items()), else_=column)


def score(corp_id: str, now: datetime, today: date, *, fold_since: date | None,
          touched_since: datetime | None = None) -> dict:
    """Score every relation of the corp as of ``now`` (``today``: its corp-local day), folding
    the activity days from ``fold_since`` (None: all) into the last interactions, and apply level
    changes: one UPDATE … FROM for the existing rows, one INSERT … SELECT for new relations (those
    created or changed since ``touched_since`` when given: the nightly run's window), one
    INSERT … SELECT for the timeline. Returns {"relations", "changed", "level_changes"}; the
    caller commits."""
    r = RelationRisk
    if _postgresql():  # room for the aggregate and the hash joins (this transaction only)
        db.session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    _drop_transferred(corp_id)
    defaults = corp_defaults(corp_id)
    changed = 0
    if db.session.scalar(select(r.id).where(r.corp_id == corp_id).limit(1)) is not None:
        n = _new_values(corp_id, now, today, defaults, fold_since)
        moved = r.level.is_distinct_from(n.c.level)
        differs = or_(moved, *(getattr(n.c, name).is_distinct_from(getattr(r, name)) for name in SCORED))
        changed = db.session.execute(
            update(r).where(r.id == n.c.id, differs)
            .values(scored_at=now, level=n.c.level,
                    previous_level=case((moved, r.level), else_=r.previous_level),
                    level_changed_at=case((moved, literal(now)), else_=r.level_changed_at),
                    **{name: getattr(n.c, name) for name in SCORED}), execution_options=BULK).rowcount
    changed += _insert_missing(corp_id, now, today, defaults, fold_since, touched_since)
    # A change from a level (not a relation's first level) goes on the customer's timeline.
    entered = and_(r.corp_id == corp_id, r.level_changed_at == now, r.previous_level.is_not(None),
                   r.scored_at == now)
    # (INSERT … SELECT has no reliable rowcount through psycopg: count first.)
    logged = db.session.scalar(select(func.count()).select_from(r).where(entered)) or 0
    if logged:
        summary = literal("流失风险：", String) + _label(r.previous_level) + literal(" → ", String) + _label(r.level)
        data = json_pairs(literal("from"), r.previous_level, literal("to"), r.level, literal("reason"), r.reason,
                          literal("score"), r.score, literal("silent_since"), r.silent_since)
        entries = select(r.corp_id, r.external_userid, r.userid, literal(TIMELINE_KIND, String),
                         literal("job", String), literal(now), literal(now), summary, data).where(entered)
        db.session.execute(insert(TimelineEntry).from_select(
            ["corp_id", "external_userid", "userid", "kind", "source", "occurred_at", "recorded_at", "summary",
             "data"], entries, include_defaults=False))
    # The customer list's search rows carry the level and the last interaction: those of the rows
    # written tonight, and none for the transferred relations whose rows were dropped.
    search_rows.refresh(corp_id, relation_ids=select(r.relation_id).where(r.corp_id == corp_id, r.scored_at == now))
    search_rows.refresh(corp_id, relation_ids=select(RelationSearch.relation_id).where(
        RelationSearch.corp_id == corp_id, RelationSearch.status == RelationStatus.TRANSFERRED.value,
        RelationSearch.risk_level.is_not(None)))
    return {"relations": _count(corp_id), "changed": changed, "level_changes": logged}
