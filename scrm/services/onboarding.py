"""What a new customer relation sets off, after the add handler stored it: attribution to the
channel whose ``state`` came with the add, the channel's tags (mark_tag), and enrollment in the
customer SOPs it matches. The welcome message is not here: it left on the fast path already.

Runs inside the callbacks-queue handler's transaction (the handler commits) and is idempotent:
a retried or redelivered add attributes, tags and enrolls once.
"""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import FollowRelation, RelationStatus
from scrm.services import channels, sop


def relation_added(ctx, marking: channels.TagMarking | None = None) -> None:
    """``marking``: what channels.mark_channel_tags did in WeCom before the handler wrote."""
    userid, external_userid = ctx.get("UserID"), ctx.get("ExternalUserID")
    relation = db.session.scalar(select(FollowRelation).filter_by(
        corp_id=ctx.corp_id, userid=userid, external_userid=external_userid))
    if relation is None or relation.status != RelationStatus.ACTIVE:
        return  # a later deletion already ended it
    channels.attribute(ctx, relation, marking)
    db.session.flush()
    sop.enroll_on_add(ctx.corp_id, userid, external_userid, relation.added_at or ctx.occurred_at)
