"""Messages and app events a staff member sends to our self-built app (docs/wecom/callbacks.md#app-messages).

Only members can message an app (customers never reach this callback), so these are staff
actions: one AppMessage row each, holding the payload's own fields in `content`. The inbox
already deduplicated them (MsgId for messages, a content hash for events).
"""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import AppMessage
from scrm.services.events.common import as_int
from scrm.services.events.registry import EventContext, handles

MESSAGE_TYPES = ("text", "image", "voice", "video", "location", "link", "file")
# App events worth keeping: opening the app, (un)subscribing (whether reminders can reach the
# member), menus, location reports, task/template card clicks, async batch job results.
APP_EVENTS = ("enter_agent", "subscribe", "unsubscribe", "click", "view", "LOCATION",
              "taskcard_click", "template_card_event", "batch_job_result")
ENVELOPE = frozenset({"ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "AgentID", "Event"})


def _store(ctx: EventContext, msg_type: str) -> None:
    if db.session.scalar(select(AppMessage.id).filter_by(corp_id=ctx.corp_id, event_id=ctx.event_id)):
        return
    db.session.add(AppMessage(
        corp_id=ctx.corp_id, event_id=ctx.event_id, agent_id=as_int(ctx.get("AgentID")),
        msg_id=ctx.get("MsgId"), from_userid=ctx.get("FromUserName"), msg_type=msg_type,
        content={name: value for name, value in ctx.data.items() if name not in ENVELOPE},
        sent_at=ctx.occurred_at))


def _message(ctx: EventContext) -> None:
    _store(ctx, ctx.event)


def _app_event(ctx: EventContext) -> None:
    _store(ctx, f"event:{ctx.event}")


# The inbox keys a message by its MsgType and an app event by its Event (no ChangeType).
for _msg_type in MESSAGE_TYPES:
    handles(_msg_type)(_message)
for _event in APP_EVENTS:
    handles(_event)(_app_event)
