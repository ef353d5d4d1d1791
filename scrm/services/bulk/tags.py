"""add_tags / remove_tags, a batch at a time: one ``mark_tag`` per relation (WeCom has no batch
form) through the corp's rate limiter (scrm/services/tagging.py, the one tagging path), only the
tags the relation lacks (add) or has (remove) by our copy; then our copy for the batch in two
statements and a timeline entry per customer.

A relation with nothing to change is ``skipped``. A retryable WeCom error (busy, the rate limit)
leaves the item pending and ends the batch: the run gives the job back for ``job_delay`` seconds
and retries it, up to TASK_MAX_ATTEMPTS times for that relation; any other error fails the item
with the errcode in words.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, tuple_

from scrm.extensions import db
from scrm.models import BulkItemStatus, BulkJob, BulkJobItem, BulkKind, RelationTag
from scrm.services import tagging, timeline
from scrm.services.corps import wecom_client
from scrm.wecom import WeComError, retry

RATE_WAIT = 10.0  # seconds a call may wait for room in the corp's budget before it counts as retryable
REASONS = {84061: "不是该成员的客户（客户可能已删除成员）", 40068: "标签无效或已删除",
           60111: "成员不存在或已离职", 40096: "客户 ID 无效"}


def reason_for(exc: WeComError) -> str:
    return REASONS.get(exc.errcode or 0, f"WeCom 拒绝：errcode {exc.errcode} {exc.errmsg}".strip())


def process(job: BulkJob, items: list[BulkJobItem], now: datetime) -> float | None:
    adding = job.kind == BulkKind.ADD_TAGS
    library = tagging.library(job.corp_id, job.params["tag_ids"])
    wanted = [t for t in job.params["tag_ids"] if t in library]
    pairs = [(i.userid, i.external_userid) for i in items]
    have: dict[tuple[str, str], set[str]] = {}
    if wanted:
        for userid, ext, tag_id in db.session.execute(select(
                RelationTag.userid, RelationTag.external_userid, RelationTag.tag_id).where(
                RelationTag.corp_id == job.corp_id, RelationTag.tag_id.in_(wanted),
                tuple_(RelationTag.userid, RelationTag.external_userid).in_(pairs))):
            have.setdefault((userid, ext), set()).add(tag_id)
    client = wecom_client(job.corp_id, max_rate_wait=RATE_WAIT)
    done: list[tuple[BulkJobItem, list[str]]] = []
    wait = None
    for item in items:
        pair = (item.userid, item.external_userid)
        change = [t for t in wanted if (t not in have.get(pair, set())) == adding]
        if not wanted:
            _settle(item, BulkItemStatus.FAILED, "标签已删除", now)
            continue
        if not change:
            _settle(item, BulkItemStatus.SKIPPED, "已有这些标签" if adding else "没有这些标签", now)
            continue
        try:
            tagging.mark(client, item.userid, item.external_userid, change if adding else [],
                         [] if adding else change)
        except WeComError as exc:
            if exc.retryable and item.attempts + 1 < retry.TASK_MAX_ATTEMPTS:
                item.attempts += 1
                item.reason = f"重试中：{exc}"
                wait = retry.job_delay(item.attempts)
                break
            item.errcode = exc.errcode
            _settle(item, BulkItemStatus.FAILED, reason_for(exc), now)
            continue
        _settle(item, BulkItemStatus.DONE, None, now)
        done.append((item, change))
    ok = [(i.userid, i.external_userid) for i, _ in done]
    tagging.record_changes(job.corp_id, ok, wanted if adding else [], [] if adding else wanted)
    for item, change in done:
        names = "、".join(library[t][0] for t in change)
        timeline.record(job.corp_id, item.external_userid, "tags_changed", source="job", userid=item.userid,
                        occurred_at=now, summary=("批量添加 " if adding else "批量移除 ") + names,
                        data={"add" if adding else "remove": change, "bulk_job_id": job.id})
    db.session.commit()
    return wait


def _settle(item: BulkJobItem, status: str, reason: str | None, now: datetime) -> None:
    item.status, item.reason, item.finished_at = status, reason, now
