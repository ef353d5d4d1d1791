"""The corp-wide parts of the sidebar's profile: the corp tag library, the funnel stages and the
custom field definitions. They are the same for every customer of a corp, so they are read once
per corp and version and kept in each process (issue #16): the profile reads none of them from
the database, and the tag library (the biggest part) is served on its own, with an ETag
(GET /sidebar/api/tag-library, sidebar/CONTRACT.md), for the page to fetch once and reuse.

The version is a random token per corp in Redis, replaced when a transaction that wrote any of
these rows commits: the ORM writes are seen at flush (every writer: the change_external_tag
callbacks and the tag sync, corp tag edits from the console and the Open API, stage and field
edits); set-based statements (``update(Tag)…``) do not say which corp they touched, so they
replace the token every corp's version shares. A process's cached copy is keyed by the version,
so a change anywhere is seen by the next request everywhere."""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import redis
from cachetools import TTLCache
from sqlalchemy import and_, event, select
from sqlalchemy.orm import Session

from scrm.extensions import db
from scrm.models import CustomField, FunnelStage, Tag, TagGroup
from scrm.queueing import redis_connection

log = logging.getLogger(__name__)

KEY = "scrm:corp-options:{}"
ALL_CORPS = "*"  # the token every corp's version shares (set-based writes)
MODELS = (Tag, TagGroup, FunnelStage, CustomField)
TABLES = {model.__table__.name for model in MODELS}
_CHANGED = "corp_options_changed"
DEFAULT_STAGES = ("初步接触", "需求确认", "方案报价", "商务谈判", "已成交", "已流失")

# Keyed by (corp_id, version): an old version is never served, only aged out.
# (cachetools caches are not thread-safe.)
_cache: TTLCache[tuple[str, str], CorpOptions] = TTLCache(maxsize=256, ttl=3600)
_lock = threading.Lock()


@dataclass(frozen=True)
class CorpOptions:
    version: str
    tag_groups: list[dict[str, Any]]  # [{"group_id","name","tags":[{"tag_id","name"}]}]
    tag_names: dict[str, tuple[str | None, str | None]]  # tag_id -> (name, group name)
    stages: list[dict[str, Any]]  # [{"id","name"}]
    fields: list[dict[str, Any]]  # [{"id","key","label","type","options","required"}]

    @cached_property
    def etag(self) -> str:
        """The tag library's own version: a digest of its content (a stage edit leaves it)."""
        groups = json.dumps(self.tag_groups, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha1(groups.encode()).hexdigest()[:20]

    @cached_property
    def tag_library_json(self) -> str:
        """GET /sidebar/api/tag-library's body: ``{"version", "groups"}``."""
        return json.dumps({"version": self.etag, "groups": self.tag_groups}, ensure_ascii=False,
                          separators=(",", ":"))


def version(corp_id: str) -> str:
    """The corp's current version (one Redis round trip; a token is created when missing)."""
    keys = [KEY.format(corp_id), KEY.format(ALL_CORPS)]
    conn = redis_connection()
    tokens = conn.mget(keys)
    if None in tokens:
        pipe = conn.pipeline()
        for key, token in zip(keys, tokens, strict=True):
            if token is None:
                pipe.set(key, secrets.token_hex(8), nx=True)
        pipe.mget(keys)
        tokens = pipe.execute()[-1]
    return ".".join(t.decode() for t in tokens)


def stages(corp_id: str) -> list[FunnelStage]:
    """The corp's funnel; a corp that defined none gets the default stages on first use."""
    return _stages(corp_id)[0]


def _stages(corp_id: str) -> tuple[list[FunnelStage], bool]:
    rows = list(db.session.scalars(select(FunnelStage).filter_by(corp_id=corp_id, deleted=False)
                                   .order_by(FunnelStage.order, FunnelStage.id)))
    if rows or db.session.scalar(select(FunnelStage.id).filter_by(corp_id=corp_id).limit(1)):
        return rows, False
    rows = [FunnelStage(corp_id=corp_id, name=name, order=i) for i, name in enumerate(DEFAULT_STAGES)]
    db.session.add_all(rows)
    db.session.flush()
    return rows, True


def options(corp_id: str) -> CorpOptions:
    """The corp's tag library, stages and field definitions, as of its current version."""
    current = version(corp_id)
    with _lock:
        cached = _cache.get((corp_id, current))
    if cached is not None:
        return cached
    rows, created = _stages(corp_id)
    built = _read(corp_id, current, [{"id": s.id, "name": s.name} for s in rows])
    if not created:  # the defaults written now are this transaction's (its commit replaces the version)
        with _lock:
            _cache[(corp_id, current)] = built
    return built


def _read(corp_id: str, current: str, stages: list[dict[str, Any]]) -> CorpOptions:
    rows = db.session.execute(
        select(Tag.tag_id, Tag.name, Tag.group_id, TagGroup.name)
        .outerjoin(TagGroup, and_(TagGroup.corp_id == Tag.corp_id, TagGroup.group_id == Tag.group_id))
        .where(Tag.corp_id == corp_id, Tag.deleted.is_(False), Tag.strategy_id.is_(None))
        .order_by(TagGroup.order.desc().nulls_last(), Tag.group_id, Tag.order.desc().nulls_last(), Tag.id)).all()
    groups: dict[str | None, dict[str, Any]] = {}
    names: dict[str, tuple[str | None, str | None]] = {}
    for tag_id, name, group_id, group_name in rows:
        names[tag_id] = (name, group_name)
        group = groups.setdefault(group_id, {"group_id": group_id, "name": group_name, "tags": []})
        group["tags"].append({"tag_id": tag_id, "name": name})
    fields = [{"id": f.id, "key": f.key, "label": f.label, "type": f.type, "options": list(f.options or []),
               "required": f.required} for f in db.session.execute(
        select(CustomField.id, CustomField.key, CustomField.label, CustomField.type, CustomField.options,
               CustomField.required).where(CustomField.corp_id == corp_id, CustomField.deleted.is_(False))
        .order_by(CustomField.order, CustomField.id))]
    return CorpOptions(current, list(groups.values()), names, stages, fields)


# ---- invalidation: the transactions that write these rows replace the version at commit ------

def _note(session: Session, corp_id: str) -> None:
    session.info.setdefault(_CHANGED, set()).add(corp_id)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, MODELS):
            _note(session, obj.corp_id)


@event.listens_for(Session, "do_orm_execute")
def _set_based(state) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in TABLES:
            _note(state.session, ALL_CORPS)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if not changed:
        return
    try:
        conn = redis_connection()
        conn.mset({KEY.format(corp_id): secrets.token_hex(8) for corp_id in changed})
    except (redis.RedisError, RuntimeError):  # RuntimeError: outside an app context
        log.warning("corp options: could not replace the version of %d corp(s)", len(changed), exc_info=True)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)
