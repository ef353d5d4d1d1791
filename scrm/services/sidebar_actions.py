"""The chat sidebar's use cases (sidebar/ is their HTTP adapter), each owning its transaction:
committed when it returns, rolled back when it raises. The customer and group views and edits
are scrm/services/profile.py's, the content library and SOP reminder tasks library.py's, group
SOP reminders scrm/services/group_sop/sidebar.py's (use cases in sidebar_group_sop.py); this
module adds the transaction, the reads the adapter used to make itself, and the ids that do
not exist (NotFound) or are someone else's (NotYours)."""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select

from scrm.clock import iso_z
from scrm.extensions import db
from scrm.models import Recall, SopTask, Staff
from scrm.services import library, policy, profile
from scrm.services.group_sop import sidebar as group_sop_sidebar
from scrm.services.localtime import zone
from scrm.services.recall import sidebar as recall_sidebar

F = TypeVar("F", bound=Callable[..., Any])
CONTENT_PAGE_SIZE = 20


class NotFound(Exception):
    """No such content item or task in this corp (or deleted)."""


class NotYours(Exception):
    """Another staff member's task."""


def use_case(fn: F) -> F:
    """``fn`` owns its transaction: commit when it returns, roll back when it raises."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return result

    return wrapped  # type: ignore[return-value]


# ---- who is signed in -------------------------------------------------------------------------

@use_case
def me(corp_id: str, userid: str) -> dict[str, Any]:
    name = db.session.scalar(select(Staff.name).filter_by(corp_id=corp_id, userid=userid))
    role = policy.role_of(corp_id, userid)
    return {"corp_id": corp_id, "userid": userid, "name": name, "role": role.role,
            "data_scope": role.scope, "can_view_mobile": bool(role.can_view_mobile)}


# ---- customers and groups (profile.py) --------------------------------------------------------

customer_view = use_case(profile.customer_view)
set_tags = use_case(profile.set_tags)
set_stage = use_case(profile.set_stage)
set_fields = use_case(profile.set_fields)
set_remark = use_case(profile.set_remark)


@use_case
def tag_library(corp_id: str) -> tuple[str, str]:
    """The corp tag library's version (its ETag) and JSON body, cached per corp and version."""
    opts = profile.corp_options.options(corp_id)
    return opts.etag, opts.tag_library_json


@use_case
def group_view(corp_id: str, userid: str, chat_id: str, *, ip: str | None = None) -> dict[str, Any]:
    """The group view (profile.py, access checked there) with its group SOPs (calendar, reminders)."""
    view = profile.group_view(corp_id, userid, chat_id, ip=ip)
    return {**view, "sop": group_sop_sidebar.group_sops(corp_id, userid, chat_id)}


@use_case
def fetch_customer(corp_id: str, userid: str, external_userid: str, *, ip: str | None = None) -> dict[str, Any]:
    """The "fetch it now" button: from WeCom, then the view."""
    profile.fetch_now(corp_id, userid, external_userid)
    return profile.customer_view(corp_id, userid, external_userid, ip=ip)


@use_case
def customer_timeline(corp_id: str, userid: str, external_userid: str, *, before: int | None,
                      limit: int) -> dict[str, Any]:
    _, role, _ = profile.check_reader(corp_id, userid, external_userid)
    return profile.timeline_page(corp_id, external_userid, before=before, limit=limit,
                                 mask_mobiles=not role.can_view_mobile)


@use_case
def follow_ups(corp_id: str, userid: str, external_userid: str, *, page: int, page_size: int) -> dict[str, Any]:
    profile.check_reader(corp_id, userid, external_userid)
    return profile.follow_ups(corp_id, external_userid, page=page, page_size=page_size)


def _utc(value: datetime | None) -> datetime | None:
    """→ naive UTC; a time without an offset is the corp's local time (what staff type)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone())
    return value.astimezone(UTC).replace(tzinfo=None)


@use_case
def add_follow_up(corp_id: str, userid: str, external_userid: str, *, kind: str | None, content: str,
                  next_at: datetime | None, ip: str | None = None) -> dict[str, Any]:
    return profile.add_follow_up(corp_id, userid, external_userid, kind or "", content, _utc(next_at), ip=ip)


# ---- the content library and SOP reminder tasks (library.py) ----------------------------------

@use_case
def contents(corp_id: str, userid: str, *, q: str | None, category: str | None, kind: str | None, page: int,
             external_userid: str | None) -> dict[str, Any]:
    query = library.search(corp_id, q, category, kind)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(db.session.scalars(query.offset((page - 1) * CONTENT_PAGE_SIZE).limit(CONTENT_PAGE_SIZE)))
    return {"categories": library.categories(corp_id, q, kind),
            "items": library.sidebar_items(corp_id, userid, items, external_userid),
            "total": total, "page": page, "page_size": CONTENT_PAGE_SIZE}


@use_case
def content_sent(corp_id: str, userid: str, content_id: int, *, external_userid: str | None,
                 chat_id: str | None, ip: str | None = None) -> dict[str, Any]:
    item = library.get(corp_id, content_id)
    if item is None:
        raise NotFound
    use_count = library.record_sent(item, userid, external_userid=external_userid, chat_id=chat_id, ip=ip)
    return {"id": item.id, "use_count": use_count}


def _own(model, corp_id: str, userid: str, row_id: int):
    """A staff member's own task row (an SOP task, a recall): NotFound in another corp, NotYours
    for a colleague's."""
    row = db.session.get(model, row_id)
    if row is None or row.corp_id != corp_id:
        raise NotFound
    if row.userid != userid:
        raise NotYours
    return row


def _own_task(corp_id: str, userid: str, task_id: int) -> SopTask:
    return _own(SopTask, corp_id, userid, task_id)


@use_case
def sop_task(corp_id: str, userid: str, task_id: int) -> dict[str, Any]:
    return library.task_view(_own_task(corp_id, userid, task_id))


@use_case
def sop_task_sent(corp_id: str, userid: str, task_id: int, *, ip: str | None = None) -> dict[str, Any]:
    task = library.record_task_sent(_own_task(corp_id, userid, task_id), ip=ip)
    return {"id": task.id, "sent_from_sidebar_at": iso_z(task.sent_from_sidebar_at)}


@use_case
def pending_reminders(corp_id: str, userid: str, external_userid: str) -> dict[str, Any]:
    return {"items": library.pending_reminders(corp_id, userid, external_userid)}


# ---- recall playbooks (scrm/services/recall/sidebar.py) ------------------------------------------

def _own_recall(corp_id: str, userid: str, recall_id: int) -> Recall:
    return _own(Recall, corp_id, userid, recall_id)


@use_case
def recall(corp_id: str, userid: str, recall_id: int) -> dict[str, Any]:
    return recall_sidebar.view(_own_recall(corp_id, userid, recall_id))


@use_case
def recall_sent(corp_id: str, userid: str, recall_id: int, *, ip: str | None = None) -> dict[str, Any]:
    done = recall_sidebar.record_sent(_own_recall(corp_id, userid, recall_id), ip=ip)
    return {"id": done.id, "sent_from_sidebar_at": iso_z(done.sent_from_sidebar_at),
            "status_label": recall_sidebar.status_label(done)}
