"""start_sop, a batch at a time: scrm/services/sop ``enroll_relations`` (skipped relations keep the
reason: already in the SOP, not matching its conditions). The SOP deleted meanwhile fails the job."""
from __future__ import annotations

from datetime import datetime

from scrm.extensions import db
from scrm.models import BulkItemStatus, BulkJob, BulkJobItem, Sop, SopStatus
from scrm.services import sop as sops


class SopGone(Exception):
    pass


def process(job: BulkJob, items: list[BulkJobItem], now: datetime) -> None:
    sop = db.session.get(Sop, job.params["sop_id"])
    if sop is None or sop.corp_id != job.corp_id or sop.status == SopStatus.DELETED:
        raise SopGone("SOP 已删除")
    outcome = sops.enroll_relations(sop, [(i.userid, i.external_userid) for i in items], now)
    for item in items:
        reason = outcome.get((item.userid, item.external_userid))
        item.status = BulkItemStatus.SKIPPED if reason else BulkItemStatus.DONE
        item.reason, item.finished_at = reason, now
    db.session.commit()
