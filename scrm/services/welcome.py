"""The welcome fast path (docs/wecom/limits.md#welcome-code): a WelcomeCode works once, within 20 s of the add.

The callback view enqueues `jobs.welcome.send_welcome(event_id)` on the dedicated `welcome`
queue as soon as the add is stored, before any customer detail is fetched; the callbacks-queue
handler enqueues it again as a fallback (Redis down at receipt), which is harmless: the
WelcomeMessage row, unique per event, is claimed before WeCom is called, so a welcome is never
sent twice. Retryable errors are retried only while the window is still open.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from cachetools import TTLCache
from flask import current_app
from sqlalchemy import bindparam, select, update

from scrm.clock import utcnow
from scrm.db import insert_ignoring_conflict_sql
from scrm.extensions import db
from scrm.models import CallbackEvent, Customer, Staff, WelcomeMessage, WelcomeStatus
from scrm.queueing import enqueue
from scrm.services import timeline, welcome_templates
from scrm.services.content import NICKNAME, STAFF_NAME, WeComAttachments, render_text, wecom_attachments
from scrm.services.corps import wecom_client
from scrm.wecom import RetryableWeComError, WeComError, retry
from scrm.wecom.crypto import parse_xml

log = logging.getLogger(__name__)

WINDOW = timedelta(seconds=20)
SAFETY = timedelta(seconds=2)  # don't start an attempt WeCom would see after the window
RETRY_DELAY = retry.WELCOME_RETRY_DELAY
ADD_EVENTS = ("add_external_contact", "add_half_external_contact")
DEFAULT_TEXT = "您好，我是{staff_name}，很高兴认识您！有任何问题随时联系我。"
DEFAULT_TEXT_NO_NAME = "您好，很高兴认识您！有任何问题随时联系我。"
OUTCOMES = {41050: WelcomeStatus.TOO_LATE, 41051: WelcomeStatus.ALREADY_CHATTING}
NICKNAME_LOOKUP_TIMEOUT = 1.5  # s; the whole welcome has 20 s
NICKNAME_LOOKUP_MIN_LEFT = timedelta(seconds=8)
# A job that starts this long after the callback is behind a burst: it sends with the fallback
# at once rather than add a round trip (and make the jobs behind it later still).
NICKNAME_LOOKUP_MAX_DELAY = timedelta(seconds=1.5)


def wants_welcome(fields: dict) -> bool:
    return (fields.get("Event") == "change_external_contact"
            and fields.get("ChangeType") in ADD_EVENTS and bool(fields.get("WelcomeCode")))


def enqueue_welcome(event_id: int, delay: float = 0, attempt: int = 0, unique: bool = True,
                    add: tuple[str, dict] | None = None) -> None:
    """`unique=False` only where no job for the event can exist yet (the view, on a new row):
    it saves a Redis round trip on the callback hot path. `add`: the callback's (corp id, fields),
    from which the job carries what the welcome process needs to look the nickname up while it
    claims the welcome (`early_lookup`)."""
    meta = None
    if add is not None:
        corp_id, fields = add
        meta = {"corp_id": corp_id, "external_userid": fields.get("ExternalUserID") or "",
                "state": fields.get("State") or ""}
    enqueue("jobs.welcome.send_welcome", event_id, queue="welcome", delay=delay,
            job_id=f"welcome-{event_id}-{attempt}", unique=unique, meta=meta)


def early_lookup(meta: dict) -> tuple[str, str, str] | None:
    """(corp id, external_userid, state) from a job's meta (enqueue_welcome), or None."""
    corp_id, external_userid, state = (meta.get(key) for key in ("corp_id", "external_userid", "state"))
    if isinstance(corp_id, str) and corp_id and isinstance(external_userid, str) and external_userid:
        return corp_id, external_userid, state if isinstance(state, str) else ""
    return None


@dataclass
class Rendered:
    content: dict  # send_welcome_msg keyword arguments: text and/or attachments
    template_id: int | None = None
    channel_id: int | None = None
    variant: str | None = None
    dropped: int = 0  # attachments left out: their media_id was missing or expired


@dataclass
class Draft:
    """What render() reads from the database, so that the text can be finished without it (the
    welcome process looks the nickname up and renders in its sender threads)."""
    choice: welcome_templates.Choice
    staff_name: str | None
    nickname: str | None  # the stored customer name
    media: WeComAttachments | None
    needs_nickname: bool  # the text has {nickname}
    fallback: str = ""  # the template's nickname_fallback
    template_id: int | None = None


def draft(corp_id: str, userid: str, external_userid: str, state: str | None, now: datetime, *,
          staff_names: dict[str, str | None] | None = None,
          nicknames: dict[str, str | None] | None = None, channels: dict | None = None) -> Draft:
    """The database part of render(). `staff_names` / `nicknames`: names read beforehand for a
    batch (a key missing from them is read here); `channels`: see welcome_templates.choose."""
    choice = welcome_templates.choose(corp_id, userid, state, now, channels=channels)
    needs_name = choice.template is None or STAFF_NAME in (choice.text or "")
    staff_name = None
    if needs_name:
        staff_name = (staff_names[userid] if staff_names is not None and userid in staff_names else
                      db.session.scalar(select(Staff.name).filter_by(corp_id=corp_id, userid=userid)))
    if choice.template is None:
        return Draft(choice, staff_name, None, None, False)
    needs_nickname = NICKNAME in (choice.text or "")
    nickname = None
    if needs_nickname and external_userid:
        nickname = (nicknames[external_userid] if nicknames is not None and external_userid in nicknames else
                    db.session.scalar(select(Customer.name).filter_by(corp_id=corp_id,
                                                                      external_userid=external_userid)))
    media = wecom_attachments(corp_id, choice.attachments, now)
    # nickname_fallback read now: the template's attributes expire when the caller commits
    return Draft(choice, staff_name, nickname, media, needs_nickname,
                 choice.template.nickname_fallback or "", choice.template.id)


def wants_lookup(draft_: Draft, external_userid: str, now: datetime, deadline: datetime | None, lookup: bool) -> bool:
    """Whether the nickname has to come from `externalcontact/get` (see render())."""
    return (draft_.needs_nickname and not draft_.nickname and bool(external_userid) and lookup
            and (deadline is None or deadline - now >= NICKNAME_LOOKUP_MIN_LEFT))


def lookup_nickname(client, external_userid: str) -> str | None:
    """One `externalcontact/get` bounded by NICKNAME_LOOKUP_TIMEOUT; None on any WeCom error."""
    try:
        reply = client.get_external_contact(external_userid, timeout=NICKNAME_LOOKUP_TIMEOUT)
    except WeComError as exc:  # 84061 right after the add, a timeout...: the fallback it is
        log.info("nickname lookup for %s failed: %s", external_userid, exc)
        return None
    return (reply.get("external_contact") or {}).get("name") or None


def finish(draft_: Draft, nickname: str | None = None) -> Rendered:
    """The message from a draft (no database): `nickname` is a looked-up name, if any."""
    choice, staff_name = draft_.choice, draft_.staff_name
    if choice.template is None:
        text = DEFAULT_TEXT.format(staff_name=staff_name) if staff_name else DEFAULT_TEXT_NO_NAME
        return Rendered({"text": text}, channel_id=choice.channel_id)
    text = render_text(choice.text, nickname=draft_.nickname or nickname, staff_name=staff_name,
                       nickname_fallback=draft_.fallback)
    content: dict = {}
    if text:
        content["text"] = text
    if draft_.media.attachments:
        content["attachments"] = draft_.media.attachments
    if not content:  # every attachment expired and no text: WeCom refuses an empty message
        content["text"] = DEFAULT_TEXT.format(staff_name=staff_name) if staff_name else DEFAULT_TEXT_NO_NAME
    return Rendered(content, draft_.template_id, choice.channel_id, choice.variant, len(draft_.media.dropped))


def render(corp_id: str, userid: str, external_userid: str = "", state: str | None = None, *,
           now: datetime | None = None, deadline: datetime | None = None, client=None,
           lookup: bool = True) -> Rendered:
    """The message for this add: the chosen template (welcome_templates.choose) with its
    placeholders rendered, or the built-in text when the corp has no template at all.

    ``{nickname}``: the stored customer name when we have one; otherwise, when ``lookup`` (the
    job is not behind a burst: it started within NICKNAME_LOOKUP_MAX_DELAY of the callback) and
    at least NICKNAME_LOOKUP_MIN_LEFT of the window is left, one `externalcontact/get` bounded by
    NICKNAME_LOOKUP_TIMEOUT (the callbacks-queue handler fetches the same customer in parallel
    and cannot be waited for); otherwise, or on any failure, the template's neutral
    ``nickname_fallback``.
    """
    now = now or utcnow()
    found = draft(corp_id, userid, external_userid, state, now)
    nickname = None
    if wants_lookup(found, external_userid, now, deadline, lookup):
        db.session.commit()  # nothing pending: hand the connection back to the pool during the HTTP call
        nickname = lookup_nickname(client or wecom_client(corp_id), external_userid)
    return finish(found, nickname)


# Spelled as SQL: SQLAlchemy does not cache the compiled form of the dialect-specific
# insert().on_conflict_do_nothing() (see inbox.py); same syntax on PostgreSQL and SQLite 3.35+.
_CLAIM_COLUMNS = ("corp_id", "event_id", "userid", "external_userid", "status", "attempts", "received_at")
_INSERT_CLAIMED = insert_ignoring_conflict_sql(WelcomeMessage.__table__, _CLAIM_COLUMNS, "event_id")
_RECLAIM = (update(WelcomeMessage)
            .where(WelcomeMessage.event_id == bindparam("b_event_id"),
                   WelcomeMessage.status == WelcomeStatus.RETRYING)
            .values(status=WelcomeStatus.SENDING, attempts=WelcomeMessage.attempts + 1)
            .returning(WelcomeMessage.id, WelcomeMessage.attempts)
            .execution_options(synchronize_session=False))
_EVENT = select(CallbackEvent.corp_id, CallbackEvent.payload, CallbackEvent.received_at).where(
    CallbackEvent.id == bindparam("event_id"))


@dataclass
class Claim:
    """The WelcomeMessage row this attempt owns (moved to SENDING), as plain values: the job
    writes it with UPDATE statements, never loads it through the ORM (a third of its CPU)."""
    id: int
    corp_id: str
    event_id: int
    userid: str
    external_userid: str
    attempts: int
    received_at: datetime
    status: str = WelcomeStatus.SENDING
    rendered: Rendered | None = None


def _claim(event_id: int, corp_id: str, received_at: datetime, fields: dict) -> Claim | None:
    """Claim the row for this event in the caller's transaction (committed before WeCom is
    called); None when another attempt owns it or it is settled. The first attempt claims by
    creating the row; a retry finds it RETRYING and moves it."""
    claim = Claim(0, corp_id, event_id, fields.get("UserID") or "", fields.get("ExternalUserID") or "",
                  1, received_at)
    row_id = db.session.execute(_INSERT_CLAIMED, dict(
        corp_id=corp_id, event_id=event_id, userid=claim.userid, external_userid=claim.external_userid,
        status=WelcomeStatus.SENDING, attempts=1, received_at=received_at)).scalar()
    if row_id is None:
        found = db.session.execute(_RECLAIM, {"b_event_id": event_id}).first()
        if found is None:
            return None
        row_id, claim.attempts = found
        # A retry's row keeps the userids it was created with.
        claim.userid, claim.external_userid = db.session.execute(
            select(WelcomeMessage.userid, WelcomeMessage.external_userid).where(WelcomeMessage.id == row_id)).one()
    claim.id = row_id
    return claim


def _write(claim: Claim, **values) -> None:
    rendered = claim.rendered
    if rendered is not None:  # recorded with the outcome (one write transaction fewer on the way to WeCom)
        values.update(content=rendered.content, template_id=rendered.template_id, channel_id=rendered.channel_id)
    claim.status = values["status"]
    table = WelcomeMessage.__table__  # a Core statement: no ORM bookkeeping for a row never loaded
    db.session.execute(table.update().where(table.c.id == claim.id).values(**values))


def _settle(claim: Claim, status: str, now: datetime, errcode: int | None = None,
            error: str | None = None) -> None:
    latency_ms = int((now - claim.received_at).total_seconds() * 1000)
    _write(claim, status=status, errcode=errcode, error=error, answered_at=now, latency_ms=latency_ms)
    if status in (WelcomeStatus.SENT, WelcomeStatus.ALREADY_CHATTING):
        content = claim.rendered.content if claim.rendered else {}
        timeline.record(claim.corp_id, claim.external_userid, "welcome_sent", source="job",
                        userid=claim.userid, occurred_at=now, event_id=claim.event_id,
                        summary=content.get("text"),
                        data={"status": status, "latency_ms": latency_ms,
                              "template_id": claim.rendered and claim.rendered.template_id,
                              "channel_id": claim.rendered and claim.rendered.channel_id,
                              "attachments": len(content.get("attachments") or [])})
    db.session.commit()


_clients = threading.local()
CLIENT_REUSE_SECONDS = 60  # as long as corps.credentials() caches a corp's credentials
CLIENT_CACHE_SIZE = 64  # corps per worker thread


def _client(corp_id: str):
    """A WeComClient per worker thread and corp, reused for a minute: its keep-alive connection
    to WeCom saves a TCP (and TLS) handshake on every welcome."""
    key = (corp_id, id(current_app.extensions["redis"]))
    cached = getattr(_clients, "by_key", None)
    if cached is None:
        cached = _clients.by_key = TTLCache(maxsize=CLIENT_CACHE_SIZE, ttl=CLIENT_REUSE_SECONDS)
    client = cached.get(key)
    if client is None:
        client = cached[key] = wecom_client(corp_id)
    return client


def warm_up() -> None:
    """Run the job's read statements once with values that match nothing: a new welcome process
    compiles them (SQLAlchemy's cache is per process) before the first burst, not during it."""
    db.session.execute(_EVENT, {"event_id": 0}).first()
    welcome_templates.choose("", "", "-")
    db.session.scalar(select(Customer.name).filter_by(corp_id="", external_userid=""))
    db.session.scalar(select(Staff.name).filter_by(corp_id="", userid=""))
    db.session.rollback()


def send_welcome(event_id: int) -> str:
    """Send the welcome for one add event. Returns the WelcomeMessage status (or 'skipped').

    On the way to WeCom: one read of the event, then one transaction (the claim, the template
    choice, the names) committed before the call; after it, one transaction for the outcome.
    On SQLite the claim holds the write lock through those reads (a few ms)."""
    found = db.session.execute(_EVENT, {"event_id": event_id}).first()
    if found is None:
        return "skipped"
    corp_id, payload, received_at = found
    fields = parse_xml(payload)
    if not wants_welcome(fields):
        return "skipped"
    now = utcnow()
    claim = _claim(event_id, corp_id, received_at, fields)
    if claim is None:
        db.session.commit()
        return "skipped"
    deadline = received_at + WINDOW
    if now > deadline - SAFETY:
        _settle(claim, WelcomeStatus.TOO_LATE, now, error="the 20 s window passed before sending")
        return claim.status
    client = _client(corp_id)
    # Rendered in the claim's transaction; committed before WeCom is called (a nickname lookup
    # commits earlier, before its own HTTP call), so the connection is back in the pool meanwhile.
    claim.rendered = render(corp_id, claim.userid, claim.external_userid, fields.get("State"),
                            now=now, deadline=deadline - SAFETY, client=client,
                            lookup=now - received_at <= NICKNAME_LOOKUP_MAX_DELAY)
    db.session.commit()
    try:
        client.send_welcome_msg(fields["WelcomeCode"], **claim.rendered.content)
    except RetryableWeComError as exc:
        now = utcnow()
        if now + timedelta(seconds=RETRY_DELAY) < deadline - SAFETY:
            _write(claim, status=WelcomeStatus.RETRYING, errcode=exc.errcode, error=str(exc))
            db.session.commit()
            enqueue_welcome(event_id, delay=RETRY_DELAY, attempt=claim.attempts)
        else:
            _settle(claim, WelcomeStatus.TOO_LATE, now, exc.errcode, f"window closed after: {exc}")
        return claim.status
    except WeComError as exc:
        _settle(claim, OUTCOMES.get(exc.errcode, WelcomeStatus.FAILED), utcnow(), exc.errcode, str(exc))
        return claim.status
    _settle(claim, WelcomeStatus.SENT, utcnow())
    log.info("welcome sent for event %s", event_id)
    return claim.status
