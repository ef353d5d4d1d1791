"""Starting an SOP for existing relations (a bulk action, scrm/services/bulk), a batch at a time.

Unlike ``enroll_on_add`` the relations were added long ago: the enrollment's anchor
(``added_at``) is the start, so "+2 h" means two hours from now; steps whose time is already
past (day 0 at 09:00 when started at 15:00) are left out. A relation already in the SOP (any
enrollment, even a finished one: an SOP runs at most once per relation), or not matching its
conditions (delivery would stop it at once), is skipped with the reason. Set-based per batch: a
few SELECTs for the checks, one INSERT of the enrollments, one of the tasks.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, tuple_

from scrm.db import dialect_insert
from scrm.extensions import db
from scrm.models import ChannelAdd, CustomerDate, EnrollmentStatus, RelationTag, Sop, SopEnrollment, SopTask, TaskStatus
from scrm.services import timeline
from scrm.services.sop.scheduling import due_at, steps_of

ALREADY = "已在该 SOP 中（每位客户只会执行一次）"
NOT_MATCHING = "不符合该 SOP 的适用条件（渠道、标签或成员）"
NO_STEPS = "该 SOP 没有可执行的步骤"

Pair = tuple[str, str]  # (userid, external_userid)


def _matching(sop: Sop, pairs: list[Pair]) -> set[Pair]:
    conditions = sop.conditions or {}
    keep = set(pairs)
    if conditions.get("userids"):
        keep = {p for p in keep if p[0] in set(conditions["userids"])}
    if conditions.get("channel_ids") and keep:
        keep &= set(db.session.execute(select(ChannelAdd.userid, ChannelAdd.external_userid).where(
            ChannelAdd.corp_id == sop.corp_id, ChannelAdd.channel_id.in_(conditions["channel_ids"]),
            tuple_(ChannelAdd.userid, ChannelAdd.external_userid).in_(list(keep)))).tuples())
    if conditions.get("tag_ids") and keep:
        keep &= set(db.session.execute(select(RelationTag.userid, RelationTag.external_userid).where(
            RelationTag.corp_id == sop.corp_id, RelationTag.tag_id.in_(conditions["tag_ids"]),
            tuple_(RelationTag.userid, RelationTag.external_userid).in_(list(keep)))).tuples())
    return keep


def enroll_relations(sop: Sop, pairs: list[Pair], now: datetime, *, source: str = "job") -> dict[Pair, str | None]:
    """Enroll these relations in ``sop`` as of ``now`` (the caller commits). Returns each pair's
    outcome: None (enrolled) or the reason it was skipped."""
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        return {}
    steps = steps_of([sop.id])[sop.id]
    if not steps:
        return {p: NO_STEPS for p in pairs}
    outcome: dict[Pair, str | None] = {}
    enrolled = set(db.session.execute(select(SopEnrollment.userid, SopEnrollment.external_userid).where(
        SopEnrollment.sop_id == sop.id, tuple_(SopEnrollment.userid, SopEnrollment.external_userid).in_(pairs)))
        .tuples())
    outcome.update({p: ALREADY for p in enrolled})
    rest = [p for p in pairs if p not in enrolled]
    matching = _matching(sop, rest)
    outcome.update({p: NOT_MATCHING for p in rest if p not in matching})
    rest = [p for p in rest if p in matching]
    if not rest:
        return outcome
    added = db.session.execute(dialect_insert()(SopEnrollment).values([dict(
        corp_id=sop.corp_id, sop_id=sop.id, userid=u, external_userid=e, added_at=now,
        status=EnrollmentStatus.ACTIVE, created_at=now) for u, e in rest]).on_conflict_do_nothing()
        .returning(SopEnrollment.id, SopEnrollment.userid, SopEnrollment.external_userid)).all()
    new = {(u, e): i for i, u, e in added}
    outcome.update({p: (None if p in new else ALREADY) for p in rest})  # a concurrent add enrolled it
    if not new:
        return outcome
    dates: dict[str, dict] = {}
    if any(step.anchor == "date" for step in steps):
        for ext, key, value in db.session.execute(select(
                CustomerDate.external_userid, CustomerDate.key, CustomerDate.value).where(
                CustomerDate.corp_id == sop.corp_id, CustomerDate.external_userid.in_({e for _, e in new}))):
            dates.setdefault(ext, {})[key] = value
    tasks = []
    for (userid, ext), enrollment_id in new.items():
        anchor = SopEnrollment(added_at=now)
        for step in steps:
            when = due_at(step, anchor, dates.get(ext, {}))
            if when is None or when < now:
                continue
            tasks.append(dict(corp_id=sop.corp_id, sop_id=sop.id, step_id=step.id, enrollment_id=enrollment_id,
                              userid=userid, external_userid=ext, delivery=step.delivery, due_at=when,
                              status=TaskStatus.PENDING, attempts=0, created_at=now))
    if tasks:
        db.session.execute(dialect_insert()(SopTask).values(tasks).on_conflict_do_nothing())
    for userid, ext in new:
        timeline.record(sop.corp_id, ext, "sop_enrolled", source=source, userid=userid, occurred_at=now,
                        summary=sop.name, data={"sop_id": sop.id})
    return outcome
