"""Stage "customers": every customer and follow relation of the members with customer contact,
through externalcontact/batch/get_by_user (100 members per call, 100 relations per page, cursor
paging; docs/wecom/api.md#batch-customer-read), with the relations' corp tags.

The members are split into batches ("chains", as many as SCRM_SYNC_CONCURRENCY allows, at most
100 members each: chain_batch_size); each chain pages on its own thread, so up to that many calls
are in flight, all inside the shared rate budget (every call books it: scrm/wecom/ratelimit.py).
The pages are applied here, each with that chain's next cursor in the checkpoint, and committed
together with it (pages applied within engine.COMMIT_SECONDS share a transaction); the checkpoint
keeps every chain's cursor and the batch size, so a resumed run continues each chain where its
last committed page ended. Relations a page repeats unchanged are only marked seen (unchanged.py);
customers and relations the database does not hold yet (a first import: all of them) are inserted
set-based with the rows the handlers would write (new_rows.py); the rest of a page is applied with
the `change_external_contact` handlers' upserts (update_customer, apply_follow, record_outcome).
Either way every change is a timeline entry with source "sync".

Race rule: a customer or relation whose updated_at is later than the moment its page was fetched
was written by a callback after WeCom answered us, and is left alone (the rows are locked first,
so the check and the write are one step).

Full sync: after a pass with no error in this stage (no failed call, no fail_info), the active
relations of the listed members that the pass did not see (seen_run_id) and nobody touched since
the stage started are checked one customer at a time with externalcontact/get; those WeCom does
not list any more become `deleted_unknown` (someone ended the relation; the callback saying who
was lost). Relations of members the app does not list (left, or outside its visibility) are not
touched: their absence proves nothing.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from scrm.clock import utcnow
from scrm.db import ensure_row, ensure_rows, matching, read_rows
from scrm.extensions import db
from scrm.models import Customer, FollowRelation, RelationStatus, RelationTag, Tag, TagGroup
from scrm.services.customer_search import search_rows
from scrm.services.events.customers import (
    apply_follow,
    end_relation,
    fetch_contact,
    follow_values,
    record_outcome,
    update_customer,
)
from scrm.services.events.registry import EventContext, RetryLater
from scrm.services.sync import new_rows
from scrm.services.sync.engine import STAFF_BATCH, StagePass, Syncer, batches, mark_seen, newer_than
from scrm.services.sync.pipeline import Pipeline
from scrm.services.sync.unchanged import unchanged_relations
from scrm.wecom import PermanentWeComError

log = logging.getLogger(__name__)

STAGE = "customers"
API = "externalcontact/batch/get_by_user"
PAGE_SIZE = 100  # relations per page, the API's maximum
CANDIDATE_BATCH = 200
MIN_CHAIN_MEMBERS = 10  # members per chain at least (see chain_batch_size)
TABLES = ("customer", "follow_relation", "relation_tag", "timeline_entry")


@dataclass
class Page:
    fetched_at: datetime
    items: list[dict]
    next_cursor: str
    unlicensed: list[str]


def run(sync: Syncer) -> None:
    pipeline = sync.pipeline(sync.concurrency)
    stage_pass = start(sync, pipeline)
    if stage_pass is not None:
        sync.run_passes(pipeline, [stage_pass])
        finish(sync)


def start(sync: Syncer, pipeline: Pipeline) -> StagePass | None:
    """Enter the stage and set up its pass (chains on `pipeline`); None when the stage ended
    already (WeCom would not list the members). After the pass: finish()."""
    sync.begin_stage(STAGE)
    progress = sync.progress(STAGE)
    try:
        userids = sync.follow_users()
    except PermanentWeComError as exc:
        sync.error(STAGE, exc.api, exc.errcode, exc.errmsg)
        sync.end_stage(STAGE)
        return None
    checkpoint = sync.checkpoint(STAGE)
    if "chains" not in checkpoint:  # a resumed run keeps the batches its cursors belong to
        checkpoint["batch_size"] = chain_batch_size(len(userids), sync.concurrency)
    staff_batches = list(batches(userids, checkpoint.get("batch_size", STAFF_BATCH)))
    chains = checkpoint.setdefault(
        "chains", {str(i): {"cursor": "", "state": "open"} for i in range(len(staff_batches))})
    progress.setdefault("staff_total", len(userids))
    progress.setdefault("staff_done", 0)
    tag_names = _tag_library(sync.corp_id)

    def chain(key: str) -> Iterator[Page]:
        client = sync.client()
        cursor = chains[key]["cursor"]
        resumed = bool(cursor)
        while True:
            fetched_at = utcnow()
            try:
                reply = sync.fetch(pipeline, client.batch_get_by_user, staff_batches[int(key)], cursor=cursor,
                                   limit=PAGE_SIZE)
            except PermanentWeComError:
                if not resumed:
                    raise
                log.warning("chain %s: WeCom refused the stored cursor; paging it again from the start", key)
                cursor, resumed = "", False
                continue
            resumed = False
            next_cursor = reply.get("next_cursor") or ""
            if next_cursor == cursor:
                log.warning("chain %s: WeCom repeated cursor %s; treating the chain as complete", key, cursor)
                next_cursor = ""
            fail_info = reply.get("fail_info") or {}
            yield Page(fetched_at, reply.get("external_contact_list") or [], next_cursor,
                       list(fail_info.get("unlicensed_userid_list") or []))
            if not next_cursor:
                return
            cursor = next_cursor

    def apply(key: str, page: Page) -> None:
        state = chains[key]
        if page.unlicensed and not state.get("fail_info"):
            sync.error(STAGE, API, None, "fail_info: these members have no license (接口许可); their "
                       "customers were not returned", item=",".join(page.unlicensed)[:500])
            state["fail_info"] = True
        apply_contacts(sync, sync.context(STAGE, page.fetched_at), page.items, tag_names)
        progress["done"] += len(page.items)
        state["cursor"] = page.next_cursor
        if not page.next_cursor:
            state["state"] = "done"
            progress["staff_done"] += len(staff_batches[int(key)])
        sync.page_done(TABLES)

    def failed(key: str, exc: BaseException) -> None:
        if not isinstance(exc, PermanentWeComError):
            raise exc
        sync.error(STAGE, exc.api, exc.errcode, exc.errmsg, item=f"members {staff_batches[int(key)][0]}…")
        chains[key]["state"] = "failed"
        sync.commit()

    open_chains = {key: chain(key) for key, state in chains.items() if state["state"] == "open"}
    return StagePass(STAGE, open_chains, apply, failed, sync.concurrency)


def finish(sync: Syncer) -> None:
    """After the pass (its pages committed): a full sync's reconciliation, then the stage ends."""
    if sync.full:
        if sync.clean(STAGE):
            reconcile(sync, sync.follow_users())
        else:
            sync.progress(STAGE)["reconcile"] = "skipped: the pass had errors"
    sync.end_stage(STAGE)


def chain_batch_size(members: int, concurrency: int) -> int:
    """Members per batch/get_by_user chain: enough chains to keep `concurrency` calls in flight
    (a chain's pages come one after another: each needs the previous page's cursor), at most
    WeCom's 100 per call and at least MIN_CHAIN_MEMBERS (each chain ends on a short page, so
    smaller batches cost more calls for the same relations)."""
    return max(MIN_CHAIN_MEMBERS, min(STAFF_BATCH, -(-members // max(1, concurrency))))


def _tag_library(corp_id: str) -> dict[str, tuple[str | None, str | None]]:
    """tag_id → (name, group name): batch/get_by_user gives relations' tag ids only."""
    rows = db.session.execute(
        select(Tag.tag_id, Tag.name, TagGroup.name)
        .outerjoin(TagGroup, (TagGroup.corp_id == Tag.corp_id) & (TagGroup.group_id == Tag.group_id))
        .where(Tag.corp_id == corp_id, Tag.deleted.is_(False)))
    return {tag_id: (name, group_name) for tag_id, name, group_name in rows}


def _with_tags(follow: dict, tag_names: dict[str, tuple[str | None, str | None]]) -> dict:
    tags = []
    for tag_id in follow.get("tag_id") or []:
        name, group_name = tag_names.get(tag_id, (None, None))
        tags.append({"tag_id": tag_id, "tag_name": name, "group_name": group_name,
                     "type": 1 if tag_id in tag_names else None})
    return {**follow, "tags": tags}


def apply_contacts(sync: Syncer, ctx: EventContext, items: list[dict],
                   tag_names: dict[str, tuple[str | None, str | None]]) -> None:
    """One page of batch/get_by_user: customers, relations, their tags; the relations marked seen.
    Relations stored unchanged only get the seen mark (unchanged.py); customers and relations not
    stored are inserted set-based (new_rows.py); the rest go through the handlers' upserts."""
    contacts: dict[str, dict] = {}
    pairs: dict[tuple[str, str], dict] = {}
    for item in items:
        contact, follow = item.get("external_contact") or {}, item.get("follow_info") or {}
        external_userid, userid = contact.get("external_userid"), follow.get("userid")
        if external_userid and userid:
            contacts[external_userid] = contact
            pairs[(userid, external_userid)] = follow
    if not pairs:
        return
    corp_id = sync.corp_id
    unchanged, stored = unchanged_relations(corp_id, contacts, pairs, tag_names)
    if unchanged:  # nothing to write for these: only the seen mark
        mark_seen(FollowRelation, unchanged.values(), sync.state.id)
        sync.progress(STAGE)["unchanged"] = sync.progress(STAGE).get("unchanged", 0) + len(unchanged)
        pairs = {key: follow for key, follow in pairs.items() if key not in unchanged}
        if not pairs:
            return
        contacts = {key[1]: contacts[key[1]] for key in pairs}
    # Customers first, then relations: the callback handlers' lock order. A row inserted here is
    # ours until the commit; the others are locked and upserted by the handlers' rules.
    inserted_customers = new_rows.insert_customers(corp_id, contacts)
    known = read_rows(Customer, corp_id, ("external_userid",),
                      [(external_userid,) for external_userid in contacts if external_userid not in inserted_customers],
                      lock=True)
    for (external_userid,), customer in known.items():
        if not newer_than(customer, False, ctx.occurred_at):
            update_customer(ctx, customer, contacts[external_userid], False)
    inserted = new_rows.insert_relations(ctx, {key: follow for key, follow in pairs.items() if key not in stored},
                                         tag_names, sync.state.id)
    rest = {key: follow for key, follow in pairs.items() if key not in inserted}
    if rest:  # stored, or inserted by a callback since the SELECT
        # the page's buffered tags are inserted at the checkpoint: refresh the search rows after them
        search_rows.refresh_at_commit(corp_id, relation_ids=_upsert_relations(sync, ctx, rest, tag_names))


def _upsert_relations(sync: Syncer, ctx: EventContext, pairs: dict[tuple[str, str], dict],
                      tag_names: dict[str, tuple[str | None, str | None]]) -> list[int]:
    """The handlers' upserts (apply_follow, record_outcome) for relations that exist, under their
    lock and the race rule; marks them seen. Returns their ids."""
    corp_id = sync.corp_id
    relations, new_relations = ensure_rows(
        FollowRelation, corp_id, ("userid", "external_userid"), list(pairs), lock=True,
        values=lambda key: {**follow_values(pairs[key]), "status": RelationStatus.ACTIVE.value,
                            "status_changed_at": ctx.occurred_at})
    stored_tags: dict[tuple[str, str], dict[str, RelationTag]] = defaultdict(dict)
    known = [key for key in relations if key not in new_relations]
    if known:  # userid, external_userid: the leading columns of relation_tag's unique index
        for row in db.session.scalars(select(RelationTag).where(
                RelationTag.corp_id == corp_id, *matching((RelationTag.userid, RelationTag.external_userid), known))):
            stored_tags[(row.userid, row.external_userid)][row.tag_key] = row
    for key, follow in pairs.items():
        relation, created = relations[key], key in new_relations
        if newer_than(relation, created, ctx.occurred_at):
            continue
        outcome = apply_follow(ctx, relation, created, _with_tags(follow, tag_names),
                               stored_tags=stored_tags.get(key, {}), keep_personal=True)
        record_outcome(ctx, outcome, event_pair=False)
    ids = [relation.id for relation in relations.values()]
    mark_seen(FollowRelation, ids, sync.state.id)
    return ids


# ---- full sync: relations WeCom no longer lists ---------------------------------------------------

class _BackoffWeCom:
    """What fetch_contact calls as ctx.wecom, with the sync's backoff and heartbeat."""

    def __init__(self, sync: Syncer) -> None:
        self.sync = sync

    def get_external_contact(self, external_userid: str, cursor: str | None = None) -> dict:
        return self.sync.call(self.sync.client().get_external_contact, external_userid, cursor=cursor)


def reconcile(sync: Syncer, userids: list[str]) -> None:
    progress = sync.progress(STAGE)
    started = sync.stage_started_at(STAGE)
    progress.setdefault("gone", 0)
    for chunk in batches(userids, 500):
        after = 0
        while True:
            rows = db.session.execute(
                select(FollowRelation.id, FollowRelation.userid, FollowRelation.external_userid)
                .where(FollowRelation.corp_id == sync.corp_id, FollowRelation.userid.in_(chunk),
                       FollowRelation.status == RelationStatus.ACTIVE, FollowRelation.updated_at < started,
                       or_(FollowRelation.seen_run_id.is_(None), FollowRelation.seen_run_id != sync.state.id),
                       FollowRelation.id > after)
                .order_by(FollowRelation.id).limit(CANDIDATE_BATCH)).all()
            db.session.commit()  # no transaction open while we ask WeCom
            if not rows:
                break
            after = rows[-1].id
            by_customer: dict[str, list[str]] = defaultdict(list)
            for _, userid, external_userid in rows:
                by_customer[external_userid].append(userid)
            for external_userid, pair_userids in by_customer.items():
                _verify_customer(sync, external_userid, pair_userids, started)


def _verify_customer(sync: Syncer, external_userid: str, userids: list[str], started: datetime) -> None:
    """Ask WeCom about one customer whose relations the pass missed; end the ones it denies."""
    fetched_at = utcnow()
    ctx = sync.context(STAGE, fetched_at)
    ctx.wecom = _BackoffWeCom(sync)  # type: ignore[misc]  (shadows the cached_property)
    try:
        _, follow_users = fetch_contact(ctx, external_userid)
        listed = {follow["userid"]: follow for follow in follow_users if follow.get("userid")}
    except RetryLater:  # 84061: no member the app can see has this customer any more
        listed = {}
    except PermanentWeComError as exc:
        sync.error(STAGE, exc.api, exc.errcode, exc.errmsg, item=external_userid)
        sync.commit()
        return
    # Customer first, then relation: the callback handlers' lock order.
    ensure_row(Customer, lock=True, corp_id=sync.corp_id, external_userid=external_userid)
    for userid in userids:
        relation, _ = ensure_row(FollowRelation, lock=True, corp_id=sync.corp_id, userid=userid,
                                 external_userid=external_userid)
        if userid in listed:  # missed by the pass (it changed while we paged): upsert it now
            if not newer_than(relation, False, fetched_at):
                record_outcome(ctx, apply_follow(ctx, relation, False, listed[userid]), event_pair=False)
            mark_seen(FollowRelation, [relation.id], sync.state.id)
        elif (relation.status == RelationStatus.ACTIVE and relation.seen_run_id != sync.state.id
              and relation.updated_at < started):
            pair = sync.context(STAGE, fetched_at)
            pair.data = {"UserID": userid, "ExternalUserID": external_userid}
            end_relation(pair, RelationStatus.DELETED_UNKNOWN, RelationStatus.DELETED_UNKNOWN.value)
            sync.progress(STAGE)["gone"] += 1
    sync.commit()
