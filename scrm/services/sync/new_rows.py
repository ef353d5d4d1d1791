"""The customers stage's set-based path for rows that do not exist yet: the customers and follow
relations of a batch/get_by_user page that the database does not hold (on a first import, all of
them) are inserted as plain rows, one INSERT ... ON CONFLICT DO NOTHING per table (db.insert_rows),
instead of becoming ORM objects that the callback handlers' upserts compare field by field.

The rows are the ones the handlers write for a row they create (scrm/services/events/customers.py,
which tests/sync/test_new_rows.py checks by importing the same pages through both paths):

* customer: the external_contact's columns (customer_values); no timeline entry (update_customer
  records customer_updated for a customer it already knew only);
* follow_relation: follow_values, status active since the page was fetched, and the run's seen mark;
* relation_tag: the relation's corp tags (apply_follow → replace_tags with nothing stored);
* timeline_entry: relation_added with source "sync" and data {state, add_way, re_added: false,
  discovered: true} (record_outcome for a relation learnt from a reply).

The relation_tag and timeline_entry rows go to the Syncer's page buffer (inserted at the page's
end, like the handlers' new rows); the relations' search rows are inserted from the same values
(search_rows.insert_new) instead of refreshed from the tables at commit.

A row that someone else (a callback) inserted between the page's SELECT and this INSERT is not
inserted (the unique key conflicts) and is not returned: the caller applies it through the
handlers, under their lock and race rule, like any row that existed.
"""
from __future__ import annotations

from datetime import datetime

from scrm.clock import utcnow
from scrm.db import insert_pending, insert_rows
from scrm.models import Customer, FollowRelation, RelationStatus, RelationTag, TimelineEntry
from scrm.services.customer_search import search_rows
from scrm.services.events.customers import CUSTOMER_FIELDS, customer_values, follow_values
from scrm.services.events.registry import EventContext

TagNames = dict[str, tuple[str | None, str | None]]


def insert_customers(corp_id: str, contacts: dict[str, dict]) -> set[str]:
    """Insert the customers among `contacts` (external_userid → external_contact) that are missing;
    returns the external_userids inserted. The others exist (or a callback just inserted them)."""
    blank = dict.fromkeys(CUSTOMER_FIELDS)  # every row of an executemany names the same columns
    now = utcnow()  # the timestamps' default, evaluated once for the page instead of per row
    rows = [{"corp_id": corp_id, "external_userid": external_userid, **blank, **customer_values(contact),
             "created_at": now, "updated_at": now}
            for external_userid, contact in contacts.items()]
    return {key for key, in insert_rows(Customer.__table__, rows, ("external_userid",))}


def insert_relations(ctx: EventContext, pairs: dict[tuple[str, str], dict], tag_names: TagNames,
                     run_id: int) -> dict[tuple[str, str], int]:
    """Insert the relations `pairs` ((userid, external_userid) → follow_info; none of them stored
    when the page's SELECT ran) with their tags and relation_added entries, marked seen by this
    run. Returns {key: relation id} of those inserted; the rest conflicted (see the module doc)."""
    if not pairs:
        return {}
    now = utcnow()
    values = {key: {"corp_id": ctx.corp_id, "userid": key[0], "external_userid": key[1],
                    **follow_values(follow), "status": RelationStatus.ACTIVE.value,
                    "status_changed_at": ctx.occurred_at, "transfer_fail_reason": None, "seen_run_id": run_id,
                    "created_at": now, "updated_at": now}
              for key, follow in pairs.items()}
    inserted = {(userid, external_userid): relation_id for relation_id, userid, external_userid in insert_rows(
        FollowRelation.__table__, list(values.values()), ("id", "userid", "external_userid"))}
    tags: list[dict] = []
    entries: list[dict] = []
    searched: list[dict] = []
    for key, relation_id in inserted.items():
        new_tags = relation_tags(ctx.corp_id, key, pairs[key], tag_names, now)
        tags += new_tags
        row = values[key]
        searched.append({"relation_id": relation_id, **{name: row[name] for name in (
            "userid", "external_userid", "status", "state", "added_at")}, "tag_keys": [t["tag_key"] for t in new_tags]})
        # timeline.record's row for record_outcome's relation_added (learnt from a reply)
        entries.append({"corp_id": ctx.corp_id, "external_userid": key[1], "userid": key[0],
                        "kind": "relation_added", "source": ctx.source, "occurred_at": ctx.occurred_at,
                        "recorded_at": now, "event_id": ctx.event_id, "summary": None,
                        "data": {"state": row["state"], "add_way": row["add_way"], "re_added": False,
                                 "discovered": True}})
    pending = ctx.pending if ctx.pending is not None else {}
    pending.setdefault(RelationTag, []).extend(tags)
    pending.setdefault(TimelineEntry, []).extend(entries)
    if ctx.pending is None:  # no page buffer: insert them now
        insert_pending(pending)
    search_rows.insert_new(ctx.corp_id, searched)
    return inserted


def relation_tags(corp_id: str, key: tuple[str, str], follow: dict, tag_names: TagNames,
                  created_at: datetime) -> list[dict]:
    """The relation_tag rows replace_tags adds for a new relation's batch/get_by_user tag ids: a
    known corp tag with its library name and group (type 1), an unknown id bare."""
    rows: dict[str, dict] = {}
    for tag_id in follow.get("tag_id") or []:
        known = tag_id in tag_names
        name, group_name = tag_names.get(tag_id, (None, None))
        tag_key = tag_id if tag_id else "personal:None"  # replace_tags' key for a tag without an id
        rows[tag_key] = {"corp_id": corp_id, "userid": key[0], "external_userid": key[1], "tag_key": tag_key,
                         "tag_id": tag_id or None, "tag_name": name, "group_name": group_name,
                         "type": 1 if known else None, "created_at": created_at}
    return list(rows.values())
