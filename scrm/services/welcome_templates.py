"""Welcome templates: saved content (validated when saved), and which one a new customer gets.

Precedence for an add: the template of the channel whose ``state`` came with the add, else the
staff member's own template, else the corp default; then the first time-of-day variant whose
window holds the corp-local time of the add replaces the text and attachments.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import Channel, ChannelStatus, WelcomeTemplate, WelcomeTemplateStaff
from scrm.services import localtime
from scrm.services.content import validate_attachments
from scrm.services.validation import Invalid, raise_if
from scrm.timezone import parse_hhmm

FIELDS = ("name", "text", "attachments", "variants", "nickname_fallback", "is_default")


# ---- operator CRUD ---------------------------------------------------------------------------

def _check(corp_id: str, template_id: int | None, data: dict[str, Any]) -> None:
    errors = validate_attachments(corp_id, data.get("attachments") or [])
    for index, variant in enumerate(data.get("variants") or []):
        for key, messages in validate_attachments(corp_id, variant.get("attachments") or []).items():
            errors[f"variants.{index}.{key}"] = messages
    if data.get("userids"):
        taken = db.session.execute(
            select(WelcomeTemplateStaff.userid, WelcomeTemplateStaff.template_id)
            .join(WelcomeTemplate, WelcomeTemplate.id == WelcomeTemplateStaff.template_id)
            .where(WelcomeTemplateStaff.corp_id == corp_id, WelcomeTemplateStaff.userid.in_(data["userids"]),
                   WelcomeTemplate.deleted.is_(False))).all()
        clashes = [f"{row.userid} (template {row.template_id})" for row in taken if row.template_id != template_id]
        if clashes:
            errors["userids"] = ["Already have their own template: " + ", ".join(clashes) + "."]
    raise_if(errors)


def _set_staff(template: WelcomeTemplate, userids: list[str]) -> None:
    db.session.execute(delete(WelcomeTemplateStaff).where(WelcomeTemplateStaff.template_id == template.id))
    for userid in dict.fromkeys(userids):
        db.session.add(WelcomeTemplateStaff(corp_id=template.corp_id, template_id=template.id, userid=userid))


def _make_default(template: WelcomeTemplate) -> None:
    # One default per corp: the newest one saved as default wins.
    db.session.execute(update(WelcomeTemplate).where(
        WelcomeTemplate.corp_id == template.corp_id, WelcomeTemplate.id != template.id,
        WelcomeTemplate.is_default.is_(True)).values(is_default=False))


def create(corp_id: str, data: dict[str, Any]) -> WelcomeTemplate:
    _check(corp_id, None, data)
    template = WelcomeTemplate(corp_id=corp_id, **{k: data[k] for k in FIELDS if k in data})
    template.attachments = template.attachments or []
    template.variants = template.variants or []
    db.session.add(template)
    db.session.flush()
    _set_staff(template, data.get("userids") or [])
    if template.is_default:
        _make_default(template)
    db.session.commit()
    return template


def get(corp_id: str, template_id: int) -> WelcomeTemplate | None:
    template = db.session.get(WelcomeTemplate, template_id)
    return template if template and template.corp_id == corp_id and not template.deleted else None


def update_template(template: WelcomeTemplate, data: dict[str, Any]) -> WelcomeTemplate:
    _check(template.corp_id, template.id, data)
    for key in FIELDS:
        if key in data:
            setattr(template, key, data[key] if data[key] is not None or key == "text" else [])
    if "userids" in data:
        _set_staff(template, data["userids"] or [])
    if template.is_default:
        _make_default(template)
    db.session.commit()
    return template


def delete_template(template: WelcomeTemplate) -> None:
    in_use = db.session.scalars(select(Channel.id).where(
        Channel.welcome_template_id == template.id, Channel.status == ChannelStatus.ACTIVE)).all()
    if in_use:
        raise Invalid({"id": [f"Used by channel(s) {', '.join(map(str, in_use))}: change them first."]})
    template.deleted, template.is_default = True, False
    db.session.execute(delete(WelcomeTemplateStaff).where(WelcomeTemplateStaff.template_id == template.id))
    db.session.commit()


def staff_of(template_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {tid: [] for tid in template_ids}
    for tid, userid in db.session.execute(
            select(WelcomeTemplateStaff.template_id, WelcomeTemplateStaff.userid)
            .where(WelcomeTemplateStaff.template_id.in_(template_ids)).order_by(WelcomeTemplateStaff.id)):
        result[tid].append(userid)
    return result


# ---- which template, at send time ------------------------------------------------------------

@dataclass
class Choice:
    template: WelcomeTemplate | None
    channel_id: int | None
    text: str | None
    attachments: list[dict]
    variant: str | None = None


def channel_for_state(corp_id: str, state: str | None) -> Channel | None:
    """The live channel with this state (the newest, should an old deleted one share it)."""
    if not state:
        return None
    return db.session.scalar(select(Channel).where(Channel.corp_id == corp_id, Channel.state == state)
                             .order_by((Channel.status == ChannelStatus.ACTIVE).desc(), Channel.id.desc())
                             .limit(1))


def choose(corp_id: str, userid: str, state: str | None, at: datetime | None = None, *,
           channels: dict | None = None) -> Choice:
    """At most two queries: this runs inside the 20 s window, many at once. `channels`: the
    lookups of earlier calls in the same transaction (the welcome process's batches), by corp and
    state and by corp and member, so that a burst through one channel code reads it once."""
    at = at or utcnow()
    channel_id, template = None, None
    if state and channels is not None and (corp_id, state) in channels:
        channel_id, template = channels[(corp_id, state)]
    elif state:
        found = db.session.execute(
            select(Channel.id, WelcomeTemplate)
            .outerjoin(WelcomeTemplate, and_(WelcomeTemplate.id == Channel.welcome_template_id,
                                             WelcomeTemplate.deleted.is_(False)))
            .where(Channel.corp_id == corp_id, Channel.state == state)
            .order_by((Channel.status == ChannelStatus.ACTIVE).desc(), Channel.id.desc()).limit(1)).first()
        if found is not None:
            channel_id, template = found
        if channels is not None:
            channels[(corp_id, state)] = (channel_id, template)
    if template is None and channels is not None and ("staff", corp_id, userid) in channels:
        template = channels[("staff", corp_id, userid)]
    elif template is None:  # the staff member's own template, else the corp default
        template = db.session.scalar(
            select(WelcomeTemplate)
            .outerjoin(WelcomeTemplateStaff, and_(WelcomeTemplateStaff.template_id == WelcomeTemplate.id,
                                                  WelcomeTemplateStaff.userid == userid))
            .where(WelcomeTemplate.corp_id == corp_id, WelcomeTemplate.deleted.is_(False),
                   or_(WelcomeTemplateStaff.id.is_not(None), WelcomeTemplate.is_default.is_(True)))
            .order_by(WelcomeTemplateStaff.id.is_(None), WelcomeTemplate.id.desc()).limit(1))
        if channels is not None:
            channels[("staff", corp_id, userid)] = template
    if template is None:
        return Choice(None, channel_id, None, [])
    variant = pick_variant(template.variants or [], localtime.to_local(at))
    if variant is not None:
        return Choice(template, channel_id, variant.get("text"), variant.get("attachments") or [],
                      variant.get("name") or "variant")
    return Choice(template, channel_id, template.text, template.attachments or [])


def pick_variant(variants: list[dict], local: datetime) -> dict | None:
    """The first variant whose [start, end) window (local HH:MM; end < start wraps midnight)
    and weekdays (1 = Monday) hold ``local``."""
    minute = local.hour * 60 + local.minute
    for variant in variants:
        weekdays = variant.get("weekdays")
        (start_h, start_m), (end_h, end_m) = parse_hhmm(variant["start"]), parse_hhmm(variant["end"])
        start, end = start_h * 60 + start_m, end_h * 60 + end_m
        inside = start <= minute < end if start < end else (minute >= start or minute < end)
        # A window past midnight belongs to the day it started on.
        day = local.isoweekday()
        if start >= end and minute < end:
            day = (day - 2) % 7 + 1
        if inside and (not weekdays or day in weekdays):
            return variant
    return None
