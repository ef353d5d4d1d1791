"""reassign (在职转接) through the handover service: the first run opens one approved ONJOB batch per
current owner (scrm/services/handover ``open_approved_onjob``: the job's creator decided it), and
the handover machinery runs it (transfer_customer, ≤ 100 per call; WeCom's 2 transfers per
customer per 90 days checked before calling, the item then records that limit). The items follow
their transfers (``follow``, from the sweep): waiting while the customer may refuse (24 h), then
done or failed with the handover item's reason.

Skipped: relations already the takeover member's, customers already in a live batch of their
owner's. Failed at once: relations whose owner has left (离职继承 handles those)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, select, update

from scrm.extensions import db
from scrm.models import BulkItemStatus, BulkJob, BulkJobItem, BulkStatus, HandoverItem, ItemStatus
from scrm.services import handover
from scrm.services.bulk.queries import count
from scrm.services.org import active_staff

I = BulkJobItem  # noqa: E741
FOLLOW_EVERY = timedelta(minutes=10)  # the sweep follows every minute; the run only re-checks the setup
SAME_OWNER = "已是接替成员的客户"
OWNER_LEFT = "原跟进成员已离职：请用离职继承"
BUSY = "该客户已在另一个转接批次中"
CANCELLED = "转接已取消"
OPEN = (BulkItemStatus.PENDING, BulkItemStatus.WAITING)


def _settle(condition, status: str, reason: str, now: datetime) -> None:
    db.session.execute(update(I).where(condition, I.status == BulkItemStatus.PENDING, I.handover_item_id.is_(None))
                       .values(status=status, reason=reason, finished_at=now),
                       execution_options={"synchronize_session": False})


def open_batches(job: BulkJob, now: datetime) -> int:
    """The handover batches for the job's pending items not handed over yet (the caller commits).
    Returns the batches opened."""
    takeover = job.params["takeover_userid"]
    mine = and_(I.job_id == job.id, I.status == BulkItemStatus.PENDING, I.handover_item_id.is_(None))
    _settle(and_(mine, I.userid == takeover), BulkItemStatus.SKIPPED, SAME_OWNER, now)
    owners = db.session.scalars(select(I.userid).where(mine).distinct()).all()
    live = active_staff(job.corp_id, owners)
    _settle(and_(mine, I.userid.in_([o for o in owners if o not in live])), BulkItemStatus.FAILED, OWNER_LEFT, now)
    opened = 0
    for owner in sorted(live):
        batch = handover.open_approved_onjob(
            job.corp_id, owner, takeover, select(I.external_userid).where(mine, I.userid == owner),
            approved_by=job.created_by, created_by=f"bulk:{job.id}", message=job.params.get("transfer_success_msg"))
        if batch is None:
            continue
        opened += 1
        db.session.execute(update(I).where(mine, I.userid == owner).values(handover_item_id=select(
            HandoverItem.id).where(HandoverItem.batch_id == batch.id, HandoverItem.target == "customer",
                                   HandoverItem.target_id == I.external_userid).scalar_subquery()),
            execution_options={"synchronize_session": False})
    _settle(mine, BulkItemStatus.FAILED, BUSY, now)
    return opened


def run(job: BulkJob, now: datetime) -> str:
    open_batches(job, now)
    db.session.commit()
    follow(now, [job.id])
    db.session.commit()
    db.session.refresh(job)
    if job.status == BulkStatus.RUNNING:
        db.session.execute(update(BulkJob).where(BulkJob.id == job.id, BulkJob.status == BulkStatus.RUNNING)
                           .values(lease_until=now + FOLLOW_EVERY))
        db.session.commit()
    return job.status


def follow(now: datetime, job_ids: list[int] | None = None) -> None:
    """Items still open take their transfer's state (one UPDATE); the jobs touched are counted and,
    when running with no open item left, done. The caller commits."""
    h = HandoverItem
    following = and_(I.handover_item_id.is_not(None), I.status.in_(OPEN))
    if job_ids is not None:
        following = and_(following, I.job_id.in_(job_ids))
    jobs = set(db.session.scalars(select(I.job_id).where(following).distinct()))
    if job_ids is not None:
        jobs |= set(job_ids)
    if not jobs:
        return
    def of_transfer(value):
        return select(value).where(h.id == I.handover_item_id).scalar_subquery()

    state = case((h.status == ItemStatus.DONE, str(BulkItemStatus.DONE)),
                 (h.status == ItemStatus.WAITING, str(BulkItemStatus.WAITING)),
                 (h.status == ItemStatus.PROPOSED, str(BulkItemStatus.PENDING)),
                 (h.status == ItemStatus.CANCELLED, str(BulkItemStatus.CANCELLED)),
                 else_=str(BulkItemStatus.FAILED))
    db.session.execute(update(I).where(following).values(
        status=of_transfer(state), reason=of_transfer(case((h.status == ItemStatus.CANCELLED, CANCELLED),
                                                           else_=h.reason)),
        errcode=of_transfer(h.errcode), finished_at=of_transfer(h.finished_at)),
        execution_options={"synchronize_session": False})
    for job_id in sorted(jobs):
        count(job_id)
    still_open = exists().where(I.job_id == BulkJob.id, I.status.in_(OPEN))
    db.session.execute(update(BulkJob).where(BulkJob.id.in_(jobs), BulkJob.status == BulkStatus.RUNNING,
                                             BulkJob.built_at.is_not(None), ~still_open)
                       .values(status=BulkStatus.DONE, finished_at=now, lease_until=None),
                       execution_options={"synchronize_session": False})
