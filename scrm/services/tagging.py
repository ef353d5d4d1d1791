"""The one path for tagging a customer relation with corp tags: WeCom's ``mark_tag`` (one call per
relation: WeCom has no batch form; it fires no callback), then our copy (relation_tag).

Used by the sidebar's edit (scrm/services/profile/edits.py, one relation), the churn level
mirror (scrm/services/churn/mirror.py) and bulk actions (scrm/services/bulk/tags.py), which
call ``mark`` per relation and ``record_changes`` per batch, set-based.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import and_, delete, insert, literal, select, tuple_

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import FollowRelation, RelationTag, Tag, TagGroup
from scrm.services.customer_search import search_rows
from scrm.wecom.retry import call_with_backoff


def library(corp_id: str, tag_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """tag_id → (name, group name) of the corp's live tags among ``tag_ids``."""
    wanted = set(tag_ids)
    if not wanted:
        return {}
    return {tag_id: (name, group) for tag_id, name, group in db.session.execute(
        select(Tag.tag_id, Tag.name, TagGroup.name)
        .outerjoin(TagGroup, and_(TagGroup.corp_id == Tag.corp_id, TagGroup.group_id == Tag.group_id))
        .where(Tag.corp_id == corp_id, Tag.tag_id.in_(wanted), Tag.deleted.is_(False)))}


def mark(client, userid: str, external_userid: str, add: list[str], remove: list[str], *,
         sleep: Callable[[float], None] | None = None) -> None:
    """One ``mark_tag`` through the corp's rate limiter (the client's). With ``sleep``, retryable
    errors are retried in place (retry.BACKOFF); without, they propagate at once."""
    if sleep is None:
        client.mark_tag(userid, external_userid, add_tag=add, remove_tag=remove)
    else:
        call_with_backoff(client.mark_tag, userid, external_userid, add_tag=add, remove_tag=remove, sleep=sleep)


def record_changes(corp_id: str, pairs: list[tuple[str, str]], add: list[str], remove: list[str]) -> None:
    """Our copy after WeCom took ``add`` / ``remove`` for these (userid, external_userid) relations:
    one DELETE and one INSERT … SELECT (tags a relation already has are not added twice). The
    caller commits."""
    if not pairs:
        return
    search_rows.refresh_at_commit(corp_id, pairs=pairs)  # the customer list's search rows
    rt = RelationTag
    gone = [t for t in remove if t not in add]
    if gone or add:
        db.session.execute(delete(rt).where(rt.corp_id == corp_id, rt.tag_id.in_(list({*gone, *add})),
                                            tuple_(rt.userid, rt.external_userid).in_(pairs)),
                           execution_options={"synchronize_session": False})
    if not add:
        return
    r, t, g = FollowRelation, Tag, TagGroup
    query = (select(r.corp_id, r.userid, r.external_userid, t.tag_id, t.tag_id, t.name, g.name,
                    literal(1), literal(utcnow()))
             .select_from(r)
             .join(t, and_(t.corp_id == r.corp_id, t.tag_id.in_(add), t.deleted.is_(False)))
             .outerjoin(g, and_(g.corp_id == t.corp_id, g.group_id == t.group_id))
             .where(r.corp_id == corp_id, tuple_(r.userid, r.external_userid).in_(pairs)))
    db.session.execute(insert(rt).from_select(
        ["corp_id", "userid", "external_userid", "tag_key", "tag_id", "tag_name", "group_name", "type",
         "created_at"], query, include_defaults=False))
