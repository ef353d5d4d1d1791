"""`change_external_contact`: customers, their follow relations and relation tags.

Adds and edits are only notices: the handler re-reads `externalcontact/get` (docs/wecom/api.md#customers) and
upserts what WeCom says now, so a redelivered or reordered event converges to the same rows.
Deletions carry the whole fact in the payload and need no WeCom call.

Timeline kinds written here (source "callback"):
  relation_added       a relation we did not know, or one stored as deleted (data.re_added)
  relation_updated     remark/description/remark_corp_name/remark_mobiles/tags changed
  customer_updated     the customer's own profile (name, avatar, ...) changed
  deleted_by_staff | transferred | deleted_by_customer | transfer_failed | msg_audit_approved
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import redis
from sqlalchemy import select

from scrm.clock import from_timestamp, utcnow
from scrm.db import add_new_row, ensure_row
from scrm.extensions import db
from scrm.models import Customer, FollowRelation, RelationStatus, RelationTag
from scrm.services import channels, churn_alerts, handover, onboarding, welcome
from scrm.services.events.common import record
from scrm.services.events.registry import EventContext, RetryLater, handles
from scrm.wecom import WeComError, retry

log = logging.getLogger(__name__)

EVENT = "change_external_contact"
# also answered for a few seconds right after an add (docs/wecom/api.md#just-added-customers)
NOT_EXTERNAL_CONTACT = 84061
RETRY_DELAY = retry.CATCH_UP_DELAY  # 84061 right after an add: WeCom is catching up
# How many attempts we wait for the added pair to show up in follow_user before trusting the
# payload alone (visibility rules can hide it for good).
WAIT_FOR_PAIR_ATTEMPTS = 3

CUSTOMER_FIELDS = ("name", "avatar", "type", "gender", "corp_name", "corp_full_name", "position",
                   "unionid", "external_profile")
# Relation fields staff edit; a change to one of them is a relation_updated entry.
EDITABLE_FIELDS = ("remark", "description", "remark_corp_name", "remark_mobiles")


@dataclass
class RelationOutcome:
    relation: FollowRelation
    status_before: str | None  # None: the row is new
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def added(self) -> bool:
        return self.status_before != RelationStatus.ACTIVE


# --- adds and edits: re-read WeCom, upsert ------------------------------------------------

def fetch_contact(ctx: EventContext, external_userid: str) -> tuple[dict, list[dict]]:
    """(external_contact, every follow_user across cursor pages)."""
    contact: dict = {}
    follow_users: list[dict] = []
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        try:
            reply = ctx.wecom.get_external_contact(external_userid, cursor=cursor)
        except WeComError as exc:
            if exc.errcode == NOT_EXTERNAL_CONTACT:
                raise RetryLater(f"externalcontact/get errcode=84061 for {external_userid}; "
                                 "WeCom may not show the relation yet", delay=RETRY_DELAY) from exc
            raise
        contact = reply.get("external_contact") or contact
        follow_users += reply.get("follow_user") or []
        cursor = reply.get("next_cursor") or None
        if not cursor or cursor in seen:
            return contact, follow_users
        seen.add(cursor)


def customer_values(contact: dict) -> dict[str, Any]:
    """The Customer columns an external_contact gives (absent ones are not WeCom's to clear)."""
    return {name: contact[name] for name in CUSTOMER_FIELDS if name in contact}


def update_customer(ctx: EventContext, customer: Customer, contact: dict, created: bool) -> None:
    """Copy the external_contact fields WeCom gave (absent ones are left alone); a change to a
    customer we knew is a customer_updated entry."""
    changes = {}
    for name, new in customer_values(contact).items():
        old = getattr(customer, name)
        if old != new:
            changes[name] = [old, new]
            setattr(customer, name, new)
    if changes and not created:
        record(ctx, customer.external_userid, "customer_updated", changes=changes)


def _tag_key(tag: dict) -> str:
    # Personal tags (type 2) have no tag_id; their name is their identity within the relation.
    if tag.get("type") == 2 or not tag.get("tag_id"):
        return f"personal:{tag.get('tag_name')}"
    return tag["tag_id"]


def _tag_label(key: str, name: str | None, group_name: str | None) -> dict:
    return {"key": key, "name": name, "group_name": group_name}


def replace_tags(relation: FollowRelation, tags: list[dict], *, stored: dict[str, RelationTag] | None = None,
                 keep_personal: bool = False, pending: dict | None = None) -> tuple[list[dict], list[dict]]:
    """Make the relation's RelationTag rows exactly `tags`. Returns (added, removed) labels.

    `stored`: the relation's rows by tag_key when the caller already read them (the sync reads a
    page's at once). `keep_personal`: `tags` holds corp tags only (batch/get_by_user lists tag
    ids), so personal tags are not WeCom's to remove. A name or type `tags` lacks is kept."""
    wanted = {_tag_key(tag): tag for tag in tags}
    if stored is None:
        stored = {row.tag_key: row for row in db.session.scalars(select(RelationTag).filter_by(
            corp_id=relation.corp_id, userid=relation.userid, external_userid=relation.external_userid))}
    added, removed = [], []
    for key, row in stored.items():
        if key not in wanted and not (keep_personal and key.startswith("personal:")):
            removed.append(_tag_label(key, row.tag_name, row.group_name))
            db.session.delete(row)
    for key, tag in wanted.items():
        values = {"tag_id": None if key.startswith("personal:") else tag.get("tag_id"),
                  **{name: tag[name] for name in ("tag_name", "group_name", "type") if tag.get(name) is not None}}
        row = stored.get(key)
        if row is None:
            add_new_row(pending, RelationTag, {"corp_id": relation.corp_id, "userid": relation.userid,
                                               "external_userid": relation.external_userid, "tag_key": key,
                                               **values})
            added.append(_tag_label(key, tag.get("tag_name"), tag.get("group_name")))
        else:
            for name, value in values.items():
                setattr(row, name, value)
    return added, removed


def follow_values(follow: dict) -> dict[str, Any]:
    """The FollowRelation columns of a follow_user / follow_info entry."""
    return {"remark": follow.get("remark"), "description": follow.get("description"),
            "remark_corp_name": follow.get("remark_corp_name"), "remark_mobiles": follow.get("remark_mobiles") or [],
            "add_way": follow.get("add_way"), "state": follow.get("state"), "oper_userid": follow.get("oper_userid"),
            "added_at": from_timestamp(follow.get("createtime"))}


def upsert_relation(ctx: EventContext, external_userid: str, userid: str,
                    follow: dict | None) -> RelationOutcome:
    """Apply one follow_user entry; `follow` None means WeCom did not list the pair and only
    the event's own facts are known (then nothing stored is overwritten)."""
    relation, created = ensure_row(FollowRelation, corp_id=ctx.corp_id, userid=userid,
                                   external_userid=external_userid)
    return apply_follow(ctx, relation, created, follow)


def apply_follow(ctx: EventContext, relation: FollowRelation, created: bool, follow: dict | None, *,
                 stored_tags: dict[str, RelationTag] | None = None, keep_personal: bool = False) -> RelationOutcome:
    """upsert_relation on a row already read (see replace_tags for the keyword arguments)."""
    outcome = RelationOutcome(relation, None if created else relation.status)
    if follow is not None:
        for name, new in follow_values(follow).items():
            old = getattr(relation, name)
            if name in EDITABLE_FIELDS and old != new and not outcome.added:
                outcome.changes[name] = [old, new]
            setattr(relation, name, new)
        tags_added, tags_removed = replace_tags(relation, follow.get("tags") or [], stored=stored_tags,
                                                keep_personal=keep_personal, pending=ctx.pending)
        if (tags_added or tags_removed) and not created:
            # The tags live in their own rows; the relation's updated_at must still say it
            # changed (the Open API's updated_since, the sync's rule against older data).
            relation.updated_at = utcnow()
            if not outcome.added:
                outcome.changes.update(tags_added=tags_added, tags_removed=tags_removed)
    elif outcome.added:
        relation.state = ctx.get("State")
        relation.added_at = ctx.occurred_at
    if outcome.added:
        relation.status, relation.status_changed_at = RelationStatus.ACTIVE, ctx.occurred_at
        relation.transfer_fail_reason = None
    return outcome


def record_outcome(ctx: EventContext, outcome: RelationOutcome, event_pair: bool) -> None:
    relation = outcome.relation
    if outcome.added:
        data: dict[str, Any] = {"state": relation.state, "add_way": relation.add_way,
                                "re_added": outcome.status_before is not None}
        if outcome.status_before is not None:
            data["previous_status"] = outcome.status_before
        if event_pair:
            data["change_type"] = ctx.change_type
            data["welcome_code"] = bool(ctx.get("WelcomeCode"))  # whether it came; never the code
        else:  # learnt from the reply, not announced by this event
            data["discovered"] = True
        record(ctx, relation.external_userid, "relation_added", userid=relation.userid, **data)
    elif outcome.changes:
        record(ctx, relation.external_userid, "relation_updated", userid=relation.userid,
               changes=outcome.changes)


def refresh_customer(ctx: EventContext, *, require_pair: bool) -> None:
    """Re-read the customer and upsert it with every relation WeCom returns.

    Relations we store but WeCom no longer lists are left alone: follow_user only holds members
    within the app's visibility, so absence is not proof of deletion (del_* events are)."""
    # WeCom first, then the writes: no WeCom call (nor a wait on its token lock) while a write
    # transaction is open, which on SQLite would hold up every other writer, the callback
    # view's inbox insert included. Relations WeCom does not list are never removed here, so
    # two handlers of one customer that fetched in the other order still add up to every pair.
    contact, follow_users = fetch_contact(ctx, ctx.get("ExternalUserID"))
    store_customer(ctx, contact, follow_users, require_pair=require_pair)


def pair_listed(ctx: EventContext, follow_users: list[dict]) -> bool:
    return any(follow.get("userid") == ctx.get("UserID") for follow in follow_users)


def store_customer(ctx: EventContext, contact: dict, follow_users: list[dict], *, require_pair: bool) -> None:
    """refresh_customer's writes, from an externalcontact/get read (fetch_contact)."""
    userid, external_userid = ctx.get("UserID"), ctx.get("ExternalUserID")
    if require_pair and not pair_listed(ctx, follow_users) and ctx.attempts < WAIT_FOR_PAIR_ATTEMPTS:
        raise RetryLater(f"{userid} not yet among {external_userid}'s follow_user", delay=RETRY_DELAY)
    # The lock serialises the writes of handlers of the same customer (two staff adding them
    # in one second).
    customer, created = ensure_row(Customer, lock=True, corp_id=ctx.corp_id,
                                   external_userid=external_userid)
    update_customer(ctx, customer, contact, created)
    listed = {follow["userid"]: follow for follow in follow_users if follow.get("userid")}
    for follow_userid, follow in listed.items():
        outcome = upsert_relation(ctx, external_userid, follow_userid, follow)
        record_outcome(ctx, outcome, follow_userid == userid)
    if require_pair and userid not in listed:
        stored = db.session.scalar(select(FollowRelation).filter_by(
            corp_id=ctx.corp_id, userid=userid, external_userid=external_userid))
        if stored is not None and stored.status_changed_at and stored.status_changed_at > ctx.occurred_at:
            return  # a later event (a deletion) already decided this pair
        # The event itself proves the relation; keep it though WeCom won't show it to us.
        log.warning("%s not in follow_user of %s; relation kept from the payload", userid, external_userid)
        record_outcome(ctx, upsert_relation(ctx, external_userid, userid, None), True)


@handles(EVENT, "add_external_contact", "add_half_external_contact")
def relation_added(ctx: EventContext) -> None:
    # The welcome is a separate, latency-critical job that the callback view already enqueued;
    # enqueue it again in case Redis was down then (the job sends at most once).
    if ctx.attempts == 1 and welcome.wants_welcome(ctx.data):
        try:
            welcome.enqueue_welcome(ctx.event_id)
        except redis.RedisError as exc:
            log.warning("could not enqueue the welcome of event %s: %s", ctx.event_id, exc)
    # Every WeCom call before the first write (see refresh_customer): the read, then the
    # channel's tags (mark_tag) once the pair is there or we stop waiting for it.
    contact, follow_users = fetch_contact(ctx, ctx.get("ExternalUserID"))
    marking = None
    if pair_listed(ctx, follow_users) or ctx.attempts >= WAIT_FOR_PAIR_ATTEMPTS:
        marking = channels.mark_channel_tags(ctx)
    store_customer(ctx, contact, follow_users, require_pair=True)
    onboarding.relation_added(ctx, marking)  # channel attribution, tags on add, SOP enrollment


@handles(EVENT, "edit_external_contact")
def relation_edited(ctx: EventContext) -> None:
    refresh_customer(ctx, require_pair=False)


# --- facts carried by the payload ----------------------------------------------------------

def end_relation(ctx: EventContext, status: RelationStatus, kind: str) -> FollowRelation | None:
    """The pair in the payload (UserID, ExternalUserID) ended with `status` (a timeline `kind`).
    Returns the relation, or None when the event changed nothing (already applied, or stale)."""
    userid, external_userid = ctx.get("UserID"), ctx.get("ExternalUserID")
    ensure_row(Customer, lock=True, corp_id=ctx.corp_id, external_userid=external_userid)
    # Created with the ended status when we never saw the add, so the fact is kept.
    relation, created = ensure_row(FollowRelation, corp_id=ctx.corp_id, userid=userid,
                                   external_userid=external_userid)
    if not created:
        if relation.status == status:
            return None  # already applied (WeCom re-sent it with another CreateTime)
        # A sync that found the pair gone (deleted_unknown, stamped when it looked) only guessed;
        # the deletion event says who ended it and when, however late it arrives.
        # WeCom's CreateTime is whole seconds: a change stamped later in the same second (a sync
        # that saw the pair just before it ended) is not newer than the event.
        if relation.status_changed_at and relation.status_changed_at.replace(microsecond=0) > ctx.occurred_at \
                and relation.status != RelationStatus.DELETED_UNKNOWN:
            log.info("stale %s for %s/%s ignored", ctx.change_type, userid, external_userid)
            return None
    previous = None if created else relation.status
    relation.status, relation.status_changed_at = status, ctx.occurred_at
    record(ctx, external_userid, kind, userid=userid, previous_status=previous,
           **({"source": ctx.get("Source")} if ctx.get("Source") else {}))
    return relation


@handles(EVENT, "del_external_contact")
def deleted_by_staff(ctx: EventContext) -> None:
    if ctx.get("Source") == "DELETE_BY_TRANSFER":  # removed automatically by 在职继承
        end_relation(ctx, RelationStatus.TRANSFERRED, "transferred")
        handover.transfer_completed(ctx.corp_id, ctx.get("UserID"), ctx.get("ExternalUserID"), ctx.occurred_at)
    elif end_relation(ctx, RelationStatus.DELETED_BY_STAFF, "deleted_by_staff") is not None:
        db.session.flush()  # the unusual-day check counts this deletion
        churn_alerts.member_deleted_customer(ctx.corp_id, ctx.get("UserID"), ctx.occurred_at, utcnow())


@handles(EVENT, "del_follow_user")
def deleted_by_customer(ctx: EventContext) -> None:
    relation = end_relation(ctx, RelationStatus.DELETED_BY_CUSTOMER, "deleted_by_customer")
    if relation is not None:
        # The member and their manager are told by the churn-alerts sweep (within a minute).
        db.session.flush()
        churn_alerts.customer_deleted(ctx.corp_id, relation, ctx.occurred_at, utcnow())


@handles(EVENT, "transfer_fail")
def transfer_failed(ctx: EventContext) -> None:
    userid, external_userid = ctx.get("UserID"), ctx.get("ExternalUserID")
    reason = ctx.get("FailReason")
    # Not created when missing: a relation row would claim a friendship that never happened.
    relation = db.session.scalar(select(FollowRelation).filter_by(
        corp_id=ctx.corp_id, userid=userid, external_userid=external_userid))
    if relation is not None:
        relation.transfer_fail_reason = reason
    record(ctx, external_userid, "transfer_failed", userid=userid, reason=reason)
    handover.transfer_failed(ctx.corp_id, userid, external_userid, reason, ctx.occurred_at)


@handles(EVENT, "msg_audit_approved")
def msg_audit_approved(ctx: EventContext) -> None:
    external_userid = ctx.get("ExternalUserID")
    customer, _ = ensure_row(Customer, lock=True, corp_id=ctx.corp_id, external_userid=external_userid)
    if customer.msg_audit_approved_at is not None:
        return  # consent is not revoked by any event; a second notice changes nothing
    customer.msg_audit_approved_at = ctx.occurred_at
    record(ctx, external_userid, "msg_audit_approved", userid=ctx.get("UserID"))
