"""What the community services share: WeCom's refusals that are not an outage, and the rule
"WeCom first, then our row; undo WeCom's change when our commit fails"."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import CommunityStatus
from scrm.wecom import WeComError

log = logging.getLogger(__name__)

# WeCom documents no dedicated errcode for "this template / join way no longer exists"; an id it
# does not know answers 40058 (invalid parameter), the same as the simulator
# (docs/wecom/api.md#group-welcome-templates).
GONE_ERRCODES = frozenset({40058, 41044})


class LimitReached(Exception):
    """WeCom refuses because a per-corp limit is reached (e.g. 41055: 100 group welcome
    templates). The API answers 409 with this message; nothing was changed."""

    def __init__(self, errcode: int, message: str):
        super().__init__(f"{message} (WeCom errcode {errcode}).")
        self.errcode = errcode


def is_gone(exc: WeComError) -> bool:
    return exc.errcode in GONE_ERRCODES


def commit_or_undo(undo: Callable[[], Any], what: str) -> None:
    """Commit what follows a WeCom create; if the commit fails, undo the create in WeCom (no
    local row, no orphan in WeCom) and re-raise."""
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        try:
            undo()
        except WeComError as exc:  # logged for the operator: an orphan left in WeCom
            log.error("could not undo %s in WeCom after a failed commit: %s", what, exc)
        raise


def get_in_corp(model, corp_id: str, row_id: int):
    """The corp's row of ``model`` with this id, or None."""
    row = db.session.get(model, row_id)
    return row if row and row.corp_id == corp_id else None


def corp_rows(model, corp_id: str, include_deleted: bool = False):
    """The corp's rows of ``model`` (active ones unless ``include_deleted``), by id."""
    query = select(model).where(model.corp_id == corp_id)
    if not include_deleted:
        query = query.where(model.status == CommunityStatus.ACTIVE)
    return query.order_by(model.id)
