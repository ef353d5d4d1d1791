"""Who may hold a sidebar session: a member of the corp who has not left and is not disabled.

A session (sidebar/auth.py) records the member's ``Staff.session_version`` at sign-in; every
sidebar request reads the member's row again (one query on the (corp_id, userid) unique index)
and the session ends at once when the member has left (``left_at``, set by the delete_user
callback), is disabled or marked left in WeCom (``status`` 2 or 5), or when the version has been
raised since: the change_contact handlers raise it when a member leaves or their status
changes, and ``revoke`` (``flask scrm staff revoke-sessions USERID``) raises it on demand.

A member we hold no row for yet (signed in through WeCom OAuth before the first staff sync) is
let in with version 0: WeCom vouched for them at sign-in, and a departure always leaves a row
(the delete_user handler writes one when it is missing).
"""
from __future__ import annotations

import functools

from sqlalchemy import Select, bindparam, select, update

from scrm.extensions import core_execute, db
from scrm.models import Staff

INACTIVE_STATUSES = (2, 5)  # WeCom member status (user/get): 1 active, 2 disabled, 4 not activated, 5 left


@functools.cache
def _member_query() -> Select:
    # Built once (every sidebar request asks), bound per call.
    return select(Staff.left_at, Staff.status, Staff.session_version).where(
        Staff.corp_id == bindparam("corp_id"), Staff.userid == bindparam("userid"))


def session_version(corp_id: str, userid: str) -> int | None:
    """The version a session of this member must carry; None when they may not use the sidebar."""
    row = core_execute(_member_query(), {"corp_id": corp_id, "userid": userid}).first()
    if row is None:
        return 0
    left_at, status, version = row
    if left_at is not None or status in INACTIVE_STATUSES:
        return None
    return version or 0


def is_valid(corp_id: str, userid: str, version: int) -> bool:
    """Whether a session signed in with ``version`` still lets this member in."""
    current = session_version(corp_id, userid)
    return current is not None and current == version


def revoke(corp_id: str, userid: str) -> int:
    """End every sidebar session of this member (they sign in again through OAuth). Returns the
    new version. Commits. ``updated_at`` is left alone: this is no change to the member's data
    (the staff sync's race rule compares it)."""
    try:
        changed = db.session.execute(
            update(Staff).where(Staff.corp_id == corp_id, Staff.userid == userid)
            .values(session_version=Staff.session_version + 1, updated_at=Staff.updated_at)
            .execution_options(synchronize_session=False)).rowcount
        if not changed:  # signed in before the first staff sync: a row so the version can change
            db.session.add(Staff(corp_id=corp_id, userid=userid, session_version=1))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return db.session.scalar(select(Staff.session_version).where(Staff.corp_id == corp_id, Staff.userid == userid))
