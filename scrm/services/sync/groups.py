"""Stage "groups": customer groups through externalcontact/groupchat/list (owner_filter in
batches of 100 members with customer contact, cursor paging) and groupchat/get for each group,
members included (docs/wecom/api.md#customer-groups). Applied with the `change_external_chat` handlers' code
(apply_chat, apply_members, dismiss_chat): joins and leaves are timeline entries, source "sync".

Each owner batch is a chain of list pages on its own thread; the groups of a list page are read
concurrently (a thread pool of SCRM_SYNC_CONCURRENCY, inside the rate budget) and applied here
with the chain's next cursor, committed together (engine.COMMIT_SECONDS). A group whose
member_version has not changed since we stored it keeps its member rows untouched. A group that
fails groupchat/get is recorded as an error and the sync goes on; one that is gone meanwhile
(40050) is left to the reconciliation.

Race rule: a group whose updated_at is later than its groupchat/get reply was changed by a
callback after WeCom answered us, and is left alone.

Full sync, after a pass without errors: active groups of the listed owners that the pass did
not see and nobody touched since the stage started are read once more with groupchat/get;
those WeCom no longer knows (40050) are dismissed (members kept, group_dismissed entries).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from scrm.clock import utcnow
from scrm.db import ensure_row, ensure_rows
from scrm.extensions import db
from scrm.models import GroupChat, GroupChatStatus
from scrm.services.events.groups import apply_chat, apply_members, dismiss_chat
from scrm.services.events.registry import EventContext
from scrm.services.sync.engine import STAFF_BATCH, StagePass, Syncer, batches, mark_seen, newer_than
from scrm.services.sync.pipeline import Pipeline
from scrm.wecom import PermanentWeComError, WeComError

log = logging.getLogger(__name__)

STAGE = "groups"
API_GET = "externalcontact/groupchat/get"
LIST_PAGE = 100  # groups per groupchat/list page (1-1000): a resumed page re-reads at most this many
CHAIN_THREADS = 4
CHAT_NOT_FOUND = 40050
TABLES = ("group_chat", "group_member", "timeline_entry")


@dataclass
class Detail:
    chat_id: str
    fetched_at: datetime
    group: dict | None = None
    error: WeComError | None = None


@dataclass
class Page:
    details: list[Detail]
    next_cursor: str


def run(sync: Syncer) -> None:
    pipeline = sync.pipeline(min(CHAIN_THREADS, sync.concurrency))
    stage_pass = start(sync, pipeline)
    if stage_pass is not None:
        sync.run_passes(pipeline, [stage_pass])
        finish(sync)


def start(sync: Syncer, pipeline: Pipeline) -> StagePass | None:
    """Enter the stage and set up its pass (chains on `pipeline`); None when the stage ended
    already (WeCom would not list the group owners). After the pass: finish()."""
    sync.begin_stage(STAGE)
    progress = sync.progress(STAGE)
    try:
        owners = sync.follow_users()
    except PermanentWeComError as exc:
        sync.error(STAGE, exc.api, exc.errcode, exc.errmsg)
        sync.end_stage(STAGE)
        return None
    owner_batches = list(batches(owners, STAFF_BATCH))
    chains = sync.checkpoint(STAGE).setdefault(
        "chains", {str(i): {"cursor": "", "state": "open"} for i in range(len(owner_batches))})
    details_pool = ThreadPoolExecutor(max_workers=sync.concurrency, thread_name_prefix="sync-detail")

    def detail(chat_id: str) -> Detail:
        fetched_at = utcnow()
        try:
            reply = sync.fetch(pipeline, sync.client().groupchat_get, chat_id, need_name=1)
        except PermanentWeComError as exc:
            return Detail(chat_id, fetched_at, error=exc)
        return Detail(chat_id, fetched_at, group=reply.get("group_chat") or {})

    def chain(key: str) -> Iterator[Page]:
        client = sync.client()
        cursor = chains[key]["cursor"]
        while True:
            reply = sync.fetch(pipeline, client.groupchat_list, status_filter=0,
                               owner_userids=owner_batches[int(key)], cursor=cursor or None, limit=LIST_PAGE)
            chat_ids = list(dict.fromkeys(item["chat_id"] for item in reply.get("group_chat_list") or []
                                          if item.get("chat_id")))
            futures = [details_pool.submit(detail, chat_id) for chat_id in chat_ids]
            next_cursor = reply.get("next_cursor") or ""
            if next_cursor == cursor:
                next_cursor = ""
            yield Page([future.result() for future in futures], next_cursor)
            if not next_cursor:
                return
            cursor = next_cursor

    def apply(key: str, page: Page) -> None:
        apply_details(sync, page.details)
        progress["done"] += len(page.details)
        progress["total"] = (progress.get("total") or 0) + len(page.details)
        chains[key]["cursor"] = page.next_cursor
        if not page.next_cursor:
            chains[key]["state"] = "done"
        sync.page_done(TABLES)

    def failed(key: str, exc: BaseException) -> None:
        if not isinstance(exc, PermanentWeComError):
            raise exc
        sync.error(STAGE, exc.api, exc.errcode, exc.errmsg, item=f"owners {owner_batches[int(key)][0]}…")
        chains[key]["state"] = "failed"
        sync.commit()

    open_chains = {key: chain(key) for key, state in chains.items() if state["state"] == "open"}
    return StagePass(STAGE, open_chains, apply, failed, min(CHAIN_THREADS, sync.concurrency),
                     close=lambda: details_pool.shutdown(wait=True, cancel_futures=True))


def finish(sync: Syncer) -> None:
    """After the pass (its pages committed): a full sync's reconciliation, then the stage ends."""
    if sync.full:
        if sync.clean(STAGE):
            reconcile(sync, sync.follow_users())
        else:
            sync.progress(STAGE)["reconcile"] = "skipped: the pass had errors"
    sync.end_stage(STAGE)


def apply_group(ctx: EventContext, chat: GroupChat, created: bool, group: dict) -> None:
    if chat.status == GroupChatStatus.DISMISSED:  # WeCom lists it, so it is not dismissed
        chat.status, chat.dismissed_at = GroupChatStatus.ACTIVE, None
    same_members = (not created and chat.member_version is not None
                    and chat.member_version == group.get("member_version"))
    apply_chat(chat, group)
    if not same_members:
        apply_members(ctx, chat, group.get("member_list") or [], new_chat=created)


def apply_details(sync: Syncer, details: list[Detail]) -> None:
    found = []
    for item in details:
        if item.group is not None:
            found.append(item)
        elif item.error is not None and item.error.errcode != CHAT_NOT_FOUND:
            sync.error(STAGE, API_GET, item.error.errcode, item.error.errmsg, item=item.chat_id)
    chats, created = ensure_rows(GroupChat, sync.corp_id, ("chat_id",), [(item.chat_id,) for item in found], lock=True)
    for item in found:
        chat, new = chats[(item.chat_id,)], (item.chat_id,) in created
        if not newer_than(chat, new, item.fetched_at):
            apply_group(sync.context(STAGE, item.fetched_at), chat, new, item.group or {})
    mark_seen(GroupChat, [chat.id for chat in chats.values()], sync.state.id)


def reconcile(sync: Syncer, owners: list[str]) -> None:
    progress = sync.progress(STAGE)
    started = sync.stage_started_at(STAGE)
    progress.setdefault("gone", 0)
    for chunk in batches(owners, 500):
        chat_ids = db.session.scalars(
            select(GroupChat.chat_id).where(
                GroupChat.corp_id == sync.corp_id, GroupChat.owner.in_(chunk),
                GroupChat.status == GroupChatStatus.ACTIVE, GroupChat.updated_at < started,
                or_(GroupChat.seen_run_id.is_(None), GroupChat.seen_run_id != sync.state.id))
            .order_by(GroupChat.id)).all()
        db.session.commit()  # no transaction open while we ask WeCom
        for chat_id in chat_ids:
            _verify_chat(sync, chat_id, started)


def _verify_chat(sync: Syncer, chat_id: str, started: datetime) -> None:
    fetched_at = utcnow()
    try:
        group = sync.call(sync.client().groupchat_get, chat_id, need_name=1).get("group_chat") or {}
    except PermanentWeComError as exc:
        if exc.errcode != CHAT_NOT_FOUND:
            sync.error(STAGE, exc.api, exc.errcode, exc.errmsg, item=chat_id)
            sync.commit()
            return
        group = None
    ctx = sync.context(STAGE, fetched_at)
    chat, _ = ensure_row(GroupChat, lock=True, corp_id=sync.corp_id, chat_id=chat_id)
    if group is not None:  # alive after all (e.g. a new owner outside the batches): upsert it
        if not newer_than(chat, False, fetched_at):
            apply_group(ctx, chat, False, group)
        mark_seen(GroupChat, [chat.id], sync.state.id)
    elif (chat.status == GroupChatStatus.ACTIVE and chat.seen_run_id != sync.state.id
          and chat.updated_at < started):
        dismiss_chat(ctx, chat)
        sync.progress(STAGE)["gone"] += 1
    sync.commit()
