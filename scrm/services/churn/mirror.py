"""Mirroring risk levels to WeCom corp tags (`mark_tag`, docs/wecom/api.md), for corps that turn it
on (ChurnSetting.mirror_tags with tag_ids {"active": tag_id, "cooling": …, "dormant": …, "lost": …};
a level without a tag id is not mirrored, its relations only lose the other level tags).

After the scoring, relations of live relations whose level differs from the level last mirrored
(`tagged_level`) are re-tagged, at most SCRM_CHURN_MIRROR_BATCH a night (the rest follow on later
nights), oldest change first: one `mark_tag` per relation (WeCom has no batch form), through the
corp's rate limiter, retried in place on retryable errors. `mark_tag` fires no callback, so our
copy of the relation's tags (relation_tag) is updated per batch, set-based (scrm/services/tagging.py,
the one tagging path, shared with the sidebar and bulk actions). A permanent
error for one relation (e.g. no longer the member's customer) is logged and not retried until
its level changes again.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select, update

from scrm.config import settings
from scrm.extensions import db
from scrm.models import ChurnSetting, FollowRelation, RelationRisk, RelationStatus
from scrm.services import tagging
from scrm.services.corps import wecom_client
from scrm.wecom import PermanentWeComError

log = logging.getLogger(__name__)
COMMIT_EVERY = 100


def mirror_setting(corp_id: str) -> dict[str, str] | None:
    row = db.session.scalar(select(ChurnSetting).filter_by(corp_id=corp_id))
    if row is None or not row.mirror_tags or not row.tag_ids:
        return None
    return {str(level): str(tag_id) for level, tag_id in row.tag_ids.items() if tag_id}


def mirror(corp_id: str, *, sleep: Callable[[float], None], client=None, limit: int | None = None) -> int:
    """Re-tag up to ``limit`` relations whose level changed. Returns how many were tagged;
    commits per COMMIT_EVERY relations. WeComError (retryable, after its retries) propagates."""
    tags = mirror_setting(corp_id)
    limit = settings().churn_mirror_batch if limit is None else limit
    if not tags or limit <= 0:
        return 0
    r, fr = RelationRisk, FollowRelation
    due = list(db.session.execute(
        select(r.id, r.userid, r.external_userid, r.level)
        .join(fr, fr.id == r.relation_id)
        .where(r.corp_id == corp_id, r.level.is_not(None), r.level.is_distinct_from(r.tagged_level),
               fr.status == RelationStatus.ACTIVE.value)
        .order_by(r.level_changed_at, r.id).limit(limit)))
    if not due:
        return 0
    client = client or wecom_client(corp_id, max_rate_wait=60.0)
    done: list[tuple] = []
    tagged = 0
    for row_id, userid, external_userid, level in due:
        add = [tags[level]] if level in tags else []
        remove = [tag for key, tag in tags.items() if key != level]
        ok = True
        try:
            tagging.mark(client, userid, external_userid, add, remove, sleep=sleep)
            tagged += 1
        except PermanentWeComError as exc:
            ok = False
            log.warning("churn tag for a relation of %s not mirrored: %s", corp_id, exc)
        done.append((row_id, userid, external_userid, level, ok))
        if len(done) >= COMMIT_EVERY:
            _record(corp_id, done, tags)
            done = []
    if done:
        _record(corp_id, done, tags)
    return tagged


def _record(corp_id: str, done: list[tuple], tags: dict[str, str]) -> None:
    """tagged_level for the batch, and our copy of the level tags WeCom took (tagging.record_changes,
    set-based per level)."""
    db.session.execute(update(RelationRisk).where(RelationRisk.id.in_([d[0] for d in done]))
                       .values(tagged_level=RelationRisk.level), execution_options={"synchronize_session": False})
    done = [d for d in done if d[4]]
    for level in {d[3] for d in done}:
        level_pairs = [(d[1], d[2]) for d in done if d[3] == level]
        tagging.record_changes(corp_id, level_pairs, [tags[level]] if level in tags else [],
                               [tag for key, tag in tags.items() if key != level])
    db.session.commit()
