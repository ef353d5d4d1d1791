"""The welcome process's batched path (scrm/welcome_worker.py): the database work of many
welcomes in few transactions, the WeCom calls on sender threads that never touch the database.

* ``prepare(event_ids)``: one transaction for the jobs the dispatcher popped together: the events
  (one SELECT), their rows claimed (one INSERT … ON CONFLICT DO NOTHING for the batch; a retry's
  RETRYING row is moved by one UPDATE), each message chosen and drafted (welcome.draft; the staff
  and customer names read for the whole batch, a channel's template once per state), committed
  before any WeCom call. The claim is what keeps a welcome from being sent twice, as in
  welcome.send_welcome; a claim already past the window is settled as too late in the same
  transaction.
* ``send(prepared)``: on a sender thread: the nickname lookup when the draft needs one (or the
  answer of one the dispatcher started while it claimed the batch), the text, ``send_welcome_msg``;
  returns the outcome stamped with WeCom's answer time. No database.
* ``settle(outcomes)``: one transaction for the outcomes ready: the rows' UPDATEs (one
  executemany per kind of outcome) and the timeline entries (one INSERT), then the retries
  enqueued after the commit.

Same rules as welcome.send_welcome: the 20 s window less SAFETY, retries only while it is open,
41050 / 41051 recorded as too late / already chatting. `flask scrm worker welcome --burst` and
the callbacks queue's fallback still run send_welcome, one job at a time.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select

from scrm.clock import utcnow
from scrm.db import dialect_insert
from scrm.extensions import db
from scrm.models import CallbackEvent, Customer, Staff, TimelineEntry, WelcomeMessage, WelcomeStatus
from scrm.services import welcome
from scrm.services.welcome import (
    NICKNAME_LOOKUP_MAX_DELAY,
    OUTCOMES,
    RETRY_DELAY,
    SAFETY,
    WINDOW,
    Claim,
    Rendered,
    wants_welcome,
)
from scrm.wecom import RetryableWeComError, WeComError
from scrm.wecom.crypto import parse_xml

log = logging.getLogger(__name__)

_EVENTS = select(CallbackEvent.id, CallbackEvent.corp_id, CallbackEvent.payload, CallbackEvent.received_at).where(
    CallbackEvent.id.in_(bindparam("ids", expanding=True)))
_TABLE = WelcomeMessage.__table__
_COLUMNS = ("status", "errcode", "error", "content", "template_id", "channel_id")


def _update(columns: tuple[str, ...]):
    """UPDATE welcome_message SET columns WHERE id, for executemany (typed: content is JSON)."""
    return _TABLE.update().where(_TABLE.c.id == bindparam("b_id")).values(
        **{name: bindparam(f"b_{name}", type_=_TABLE.c[name].type) for name in columns})


_SETTLE = _update((*_COLUMNS, "answered_at", "latency_ms"))
_RETRYING = _update(_COLUMNS)
_TIMELINE = insert(TimelineEntry.__table__)
TIMELINE_STATUSES = (WelcomeStatus.SENT, WelcomeStatus.ALREADY_CHATTING)


@dataclass
class Prepared:
    claim: Claim
    code: str  # the WelcomeCode
    deadline: datetime  # the window's end less SAFETY
    lookup: bool  # the job started soon enough after the callback for a nickname lookup
    draft: welcome.Draft


@dataclass
class Outcome:
    claim: Claim
    status: str
    answered_at: datetime
    errcode: int | None = None
    error: str | None = None

    @property
    def retry(self) -> bool:
        return self.status == WelcomeStatus.RETRYING


# ---- prepare: one transaction before WeCom is called ----------------------------------------------

def warm_up() -> None:
    """Run the batch's read statements once with values that match nothing (see welcome.warm_up)."""
    db.session.execute(_EVENTS, {"ids": [0]}).all()
    _names([(Claim(0, "", 0, "", "-", 0, utcnow()), {})])
    db.session.rollback()


def prepare(event_ids: Iterable[int]) -> list[Prepared]:
    """Claim and draft the welcomes of these events (those that are adds with a WelcomeCode and
    whose row nobody else owns); committed before returning."""
    ids = list(dict.fromkeys(event_ids))
    adds = []
    for event_id, corp_id, payload, received_at in db.session.execute(_EVENTS, {"ids": ids}) if ids else ():
        fields = parse_xml(payload)
        if wants_welcome(fields):
            adds.append((event_id, corp_id, received_at, fields))
    if not adds:
        db.session.commit()
        return []
    claims = _claim_all(adds)
    now = utcnow()
    names = _names(claims)
    channels: dict = {}
    ready: list[Prepared] = []
    late: list[Outcome] = []
    for claim, fields in claims:
        deadline = claim.received_at + WINDOW - SAFETY
        if now > deadline:
            late.append(Outcome(claim, WelcomeStatus.TOO_LATE, now, error="the 20 s window passed before sending"))
            continue
        draft = welcome.draft(claim.corp_id, claim.userid, claim.external_userid, fields.get("State"), now,
                              staff_names=names[0], nicknames=names[1], channels=channels)
        ready.append(Prepared(claim, fields["WelcomeCode"], deadline,
                              now - claim.received_at <= NICKNAME_LOOKUP_MAX_DELAY, draft))
    _write(late)
    db.session.commit()
    return ready


def _claim_all(adds: list[tuple]) -> list[tuple[Claim, dict]]:
    """The claims this batch owns: new rows inserted in one statement; an event whose row exists
    is claimed only if it waits as RETRYING (welcome._claim's rule)."""
    rows = [dict(corp_id=corp_id, event_id=event_id, userid=fields.get("UserID") or "",
                 external_userid=fields.get("ExternalUserID") or "", status=WelcomeStatus.SENDING,
                 attempts=1, received_at=received_at) for event_id, corp_id, received_at, fields in adds]
    stmt = (dialect_insert()(_TABLE).on_conflict_do_nothing(index_elements=["event_id"])
            .returning(_TABLE.c.id, _TABLE.c.event_id))
    inserted = {event_id: row_id for row_id, event_id in db.session.execute(stmt, rows)}
    claims = []
    for (event_id, corp_id, received_at, fields), row in zip(adds, rows, strict=True):
        if event_id in inserted:
            claims.append((Claim(inserted[event_id], corp_id, event_id, row["userid"], row["external_userid"], 1,
                                 received_at), fields))
            continue
        claim = welcome._claim(event_id, corp_id, received_at, fields)  # a retry (or owned elsewhere)
        if claim is not None:
            claims.append((claim, fields))
    return claims


def _names(claims: list[tuple[Claim, dict]]) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Staff names by userid and customer names by external_userid for the whole batch (one
    SELECT each per corp); a batch is almost always one corp's."""
    staff: dict[str, str | None] = {}
    customers: dict[str, str | None] = {}
    by_corp: dict[str, list[Claim]] = {}
    for claim, _ in claims:
        by_corp.setdefault(claim.corp_id, []).append(claim)
    if len(by_corp) != 1:  # several corps: let draft() read them one by one
        return {}, {}
    ((corp_id, corp_claims),) = by_corp.items()
    userids = {claim.userid for claim in corp_claims}
    external_userids = {claim.external_userid for claim in corp_claims if claim.external_userid}
    staff = dict.fromkeys(userids)
    staff.update(db.session.execute(select(Staff.userid, Staff.name).where(
        Staff.corp_id == corp_id, Staff.userid.in_(userids))).all())
    customers = dict.fromkeys(external_userids)
    if external_userids:
        customers.update(db.session.execute(select(Customer.external_userid, Customer.name).where(
            Customer.corp_id == corp_id, Customer.external_userid.in_(external_userids))).all())
    return staff, customers


# ---- send: a sender thread, no database -------------------------------------------------------------

def send(prepared: Prepared, client, looked_up: Callable[[], str | None] | None = None) -> tuple[Outcome, Rendered]:
    """Look the nickname up if needed, render, call send_welcome_msg; never raises a WeComError.
    `looked_up`: the answer of a lookup started while the welcome was being claimed, if any."""
    claim, now = prepared.claim, utcnow()
    nickname = None
    if welcome.wants_lookup(prepared.draft, claim.external_userid, now, prepared.deadline, prepared.lookup):
        nickname = looked_up() if looked_up is not None else welcome.lookup_nickname(client, claim.external_userid)
    rendered = welcome.finish(prepared.draft, nickname)
    try:
        client.send_welcome_msg(prepared.code, **rendered.content)
    except RetryableWeComError as exc:
        now = utcnow()
        if now + timedelta(seconds=RETRY_DELAY) < prepared.deadline:
            return Outcome(claim, WelcomeStatus.RETRYING, now, exc.errcode, str(exc)), rendered
        return Outcome(claim, WelcomeStatus.TOO_LATE, now, exc.errcode, f"window closed after: {exc}"), rendered
    except WeComError as exc:
        return Outcome(claim, OUTCOMES.get(exc.errcode, WelcomeStatus.FAILED), utcnow(), exc.errcode,
                       str(exc)), rendered
    return Outcome(claim, WelcomeStatus.SENT, utcnow()), rendered


# ---- settle: one transaction after WeCom answered --------------------------------------------------

def settle(outcomes: list[tuple[Outcome, Rendered | None]]) -> None:
    """Write these outcomes and their timeline entries in one transaction, then enqueue the retries."""
    for outcome, rendered in outcomes:
        outcome.claim.rendered = rendered
    try:
        _write([outcome for outcome, _ in outcomes])
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    for outcome, _ in outcomes:
        if outcome.retry:
            welcome.enqueue_welcome(outcome.claim.event_id, delay=RETRY_DELAY, attempt=outcome.claim.attempts)
    sent = sum(outcome.status == WelcomeStatus.SENT for outcome, _ in outcomes)
    if sent:
        log.info("%d welcome(s) sent", sent)


def _write(outcomes: list[Outcome]) -> None:
    answered, retrying, entries = [], [], []
    for outcome in outcomes:
        claim = outcome.claim
        rendered = claim.rendered
        claim.status = outcome.status
        values = {"b_id": claim.id, "b_status": outcome.status, "b_errcode": outcome.errcode,
                  "b_error": outcome.error, "b_content": rendered and rendered.content,
                  "b_template_id": rendered and rendered.template_id, "b_channel_id": rendered and rendered.channel_id}
        if outcome.retry:
            retrying.append(values)
            continue
        latency_ms = int((outcome.answered_at - claim.received_at).total_seconds() * 1000)
        answered.append({**values, "b_answered_at": outcome.answered_at, "b_latency_ms": latency_ms})
        if outcome.status in TIMELINE_STATUSES:
            entries.append(_timeline_entry(outcome, latency_ms))
    for statement, rows in ((_SETTLE, answered), (_RETRYING, retrying), (_TIMELINE, entries)):
        if rows:
            db.session.execute(statement, rows)


def _timeline_entry(outcome: Outcome, latency_ms: int) -> dict:
    """What welcome._settle records through timeline.record, as a row."""
    claim, rendered = outcome.claim, outcome.claim.rendered
    content = rendered.content if rendered else {}
    return {"corp_id": claim.corp_id, "external_userid": claim.external_userid, "userid": claim.userid,
            "kind": "welcome_sent", "source": "job", "occurred_at": outcome.answered_at, "event_id": claim.event_id,
            "summary": content.get("text"),
            "data": {"status": outcome.status, "latency_ms": latency_ms,
                     "template_id": rendered and rendered.template_id,
                     "channel_id": rendered and rendered.channel_id,
                     "attachments": len(content.get("attachments") or [])}}
