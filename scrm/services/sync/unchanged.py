"""The customers stage's shortcut for what did not change: which relations of a batch/get_by_user
page already hold exactly what the page says, read with three plain SELECTs (no ORM objects, no
row locks), so that only the others go through the callback handlers' upserts.

A relation is unchanged when its customer's columns (customer_values), its own columns
(follow_values), its status (active) and its corp tags (ids, names, group names; personal tags
are not listed by batch/get_by_user and never compared) all equal the page's. Such a relation
needs no write at all, only its seen mark (engine.mark_seen, one UPDATE per page). The test
compares the stored rows themselves, not a digest of an earlier reply, so a row changed since
by anyone (a callback, an edit) counts as changed and is written as before; and nothing is
written on the strength of it, so it needs no lock (a callback that commits meanwhile has
written what WeCom said anyway, and the next sync compares again).

On a first import nothing is stored yet: one SELECT per page finds no relation and ends it; the
keys it did not find are the page's new relations (new_rows.py inserts those set-based).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from scrm.db import matching
from scrm.extensions import db
from scrm.models import Customer, FollowRelation, RelationStatus, RelationTag
from scrm.services.events.customers import CUSTOMER_FIELDS, customer_values, follow_values

FR, CU, RT = FollowRelation.__table__.c, Customer.__table__.c, RelationTag.__table__.c
FOLLOW_COLUMNS = tuple(follow_values({}))
TAG_VALUES = ("tag_id", "tag_name", "group_name", "type")


def _wanted_tags(follow: dict, tag_names: dict[str, tuple[str | None, str | None]]) -> dict[str, dict] | None:
    """tag_key → the values replace_tags would store; None when one is not a plain corp tag."""
    wanted: dict[str, dict] = {}
    for tag_id in follow.get("tag_id") or []:
        if not tag_id or tag_id not in tag_names:
            return None  # a tag the library does not know: leave it to the full path
        name, group_name = tag_names[tag_id]
        wanted[tag_id] = {"tag_id": tag_id, "type": 1,
                          **{k: v for k, v in (("tag_name", name), ("group_name", group_name)) if v is not None}}
    return wanted


def unchanged_relations(corp_id: str, contacts: dict[str, dict], pairs: dict[tuple[str, str], dict],
                        tag_names: dict[str, tuple[str | None, str | None]],
                        ) -> tuple[dict[tuple[str, str], int], set[tuple[str, str]]]:
    """({(userid, external_userid): relation id} of the page's relations that need no write, the
    keys of the page's relations that are stored at all: the others are new)."""
    keys = list(pairs)  # matching(): per-column IN lists, which select a superset of the pairs
    relations = {(row.userid, row.external_userid): row for row in db.session.execute(
        select(FR.id, FR.userid, FR.external_userid, FR.status, *(FR[c] for c in FOLLOW_COLUMNS))
        .where(FR.corp_id == corp_id, *matching((FR.userid, FR.external_userid), keys)))}
    stored_keys = {key for key in relations if key in pairs}
    candidates = [key for key, row in relations.items()
                  if key in pairs and row.status == RelationStatus.ACTIVE.value
                  and all(getattr(row, name) == value for name, value in follow_values(pairs[key]).items())]
    if not candidates:
        return {}, stored_keys
    customers = {row.external_userid: row for row in db.session.execute(
        select(CU.external_userid, *(CU[c] for c in CUSTOMER_FIELDS))
        .where(CU.corp_id == corp_id, CU.external_userid.in_({key[1] for key in candidates})))}
    stored_tags: dict[tuple[str, str], dict[str, dict[str, Any]]] = {key: {} for key in candidates}
    for row in db.session.execute(
            select(RT.userid, RT.external_userid, RT.tag_key, *(RT[c] for c in TAG_VALUES))
            .where(RT.corp_id == corp_id, *matching((RT.userid, RT.external_userid), candidates))):
        tags = stored_tags.get((row.userid, row.external_userid))  # None: not a candidate (IN lists)
        if tags is not None and not row.tag_key.startswith("personal:"):
            tags[row.tag_key] = row._mapping
    same_customer: dict[str, bool] = {}
    result = {}
    for key in candidates:
        external_userid = key[1]
        if external_userid not in same_customer:
            stored = customers.get(external_userid)
            same_customer[external_userid] = stored is not None and all(
                getattr(stored, name) == value for name, value in customer_values(contacts[external_userid]).items())
        if not same_customer[external_userid]:
            continue
        wanted = _wanted_tags(pairs[key], tag_names)
        stored = stored_tags[key]
        if wanted is None or wanted.keys() != stored.keys():
            continue
        if all(stored[tag_key][name] == value for tag_key, values in wanted.items() for name, value in values.items()):
            result[key] = relations[key].id
    return result, stored_keys
