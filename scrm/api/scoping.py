"""The data scope of the member behind a console request, for the Open API's views.

A bearer token has no member: every helper here is a no-op for it (a token reads its whole
corp), as for a member whose scope is the whole corp. For a member with scope self or
department (scrm/services/policy), list queries are narrowed to what they see and a detail
they cannot see is answered 404, as if it did not exist (not 403: an id of another
department is not confirmed).
"""
from __future__ import annotations

from flask import g
from sqlalchemy.sql import ColumnElement, Select
from werkzeug.exceptions import Forbidden, NotFound

from scrm.services import policy


def viewer() -> policy.Viewer | None:
    """The restricted viewer of this request, or None (a token, or a corp-wide member)."""
    found = getattr(g.get("api_grant"), "viewer", None)
    return found if found is not None and found.restricted else None


def can_view_mobile() -> bool:
    """Whether the member behind a console request may read remark mobiles unmasked (their role's
    can_view_mobile; a local administrator may). A bearer token reads them masked."""
    found = getattr(g.get("api_grant"), "viewer", None)
    return bool(found is not None and found.role.can_view_mobile)


def scoped(query: Select, userid_column: ColumnElement) -> Select:
    """Rows whose member (``userid_column``) the viewer sees."""
    return policy.scope_select(viewer(), query, userid_column)


def scoped_customers(query: Select, external_userid_column: ColumnElement) -> Select:
    """Rows about customers an active relation of a member the viewer sees follows."""
    return policy.scope_customers(viewer(), query, external_userid_column)


def scoped_groups(query: Select, chat_id_column: ColumnElement) -> Select:
    """Rows about groups a member the viewer sees owns."""
    return policy.scope_groups(viewer(), query, chat_id_column)


def sees(userid: str | None) -> bool:
    v = viewer()
    return v is None or v.sees(userid)


def require_member(userid: str | None, what: str = "record") -> None:
    v = viewer()
    if v is not None and not v.sees(userid):
        raise NotFound(f"No {what} with this id.")


def require_customer(external_userid: str) -> None:
    if not policy.customer_visible(viewer(), external_userid):
        raise NotFound("No customer with this external_userid.")


def require_group(chat_id: str) -> None:
    if not policy.group_visible(viewer(), chat_id):
        raise NotFound("No group with this chat_id.")


def visible_rows(rows: list[dict], key: str = "userid") -> list[dict]:
    """Of rows already read (a page's relations), those of members the viewer sees."""
    v = viewer()
    return rows if v is None else [row for row in rows if v.sees(row.get(key))]


def visible_members() -> frozenset[str] | None:
    """The userids the viewer sees, None: all (for reports filtered after the query)."""
    v = viewer()
    return None if v is None else v.visible()


def owner_in_scope(owner: str | None) -> str | None:
    """A report's `owner` filter for a restricted viewer: theirs by default with scope self; a
    department's viewer names one of their members (else 404 on someone else's)."""
    v = viewer()
    if v is None:
        return owner
    if owner is None:
        if v.role.scope == "self":
            return v.userid
        raise Forbidden("此报表需要指定负责人（owner）：你的数据范围不是全公司。")
    require_member(owner, "owner")
    return owner


def scoped_audience(audience: dict) -> dict:
    """A bulk action's or mass message's audience (scrm/services/audience.py) for this viewer: a
    member whose scope is not the whole corp reaches customers only through the members they see."""
    members = visible_members()
    if members is None:
        return audience
    return {**audience, "senders": sorted(set(audience.get("senders") or members) & members)}


def corp_wide_report() -> None:
    """A report over the whole corp with no member dimension: only for corp-wide viewers."""
    if viewer() is not None:
        raise Forbidden("此报表为全公司数据，你的数据范围不包含全公司。")
