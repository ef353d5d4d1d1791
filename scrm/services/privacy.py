"""Personal information (PIPL, 个人信息保护法): erasing one customer, retention purges, and the
audit of Open API reads of personal data.

Erasure anonymises in place: rows stay (counts, funnels and reports keep adding up), their
personal text is blanked or replaced by ERASED. One transaction, set-based updates.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.models import (
    ArchivedMessage,
    AuditLog,
    CallbackEvent,
    Customer,
    CustomerDate,
    CustomerFieldValue,
    FollowRelation,
    FollowUp,
    GroupMember,
    GroupSopExecution,
    TimelineEntry,
    WelcomeMessage,
)
from scrm.models.inbox import EventStatus
from scrm.services.access import audit

ERASED = "[已删除]"  # shown where erased text was (user-facing: Simplified Chinese)
ERASED_PAYLOAD = ""  # an inbox row's payload once erased or purged



def erase_customer(corp_id: str, external_userid: str, *, actor: str) -> dict[str, int] | None:
    """Anonymise one customer everywhere we keep them; None when the corp has no such customer.
    Returns rows touched per table. Records `actor` (who erased) in the audit log. Commits.

    Customer dates (birthdays, ...) are deleted: a date has no blank form. A later sync or
    callback about a customer still in WeCom stores what WeCom then returns."""
    if db.session.scalar(select(Customer.id).filter_by(corp_id=corp_id, external_userid=external_userid)) is None:
        return None
    of_customer = {"corp_id": corp_id, "external_userid": external_userid}
    statements = {
        "customer": update(Customer).filter_by(**of_customer).values(
            name=ERASED, avatar=None, gender=None, corp_name=None, corp_full_name=None, position=None,
            unionid=None, external_profile=None),
        "follow_relation": update(FollowRelation).filter_by(**of_customer).values(
            remark=None, description=None, remark_corp_name=None, remark_mobiles=None),
        "follow_up": update(FollowUp).filter_by(**of_customer).values(content=ERASED),
        "customer_field_value": update(CustomerFieldValue).filter_by(**of_customer).values(value=None),
        "timeline_entry": update(TimelineEntry).filter_by(**of_customer).values(summary=None, data=None),
        "welcome_message": update(WelcomeMessage).filter_by(**of_customer).values(content=None),
        # New-member messages carry the member's name (and go out as one message with others').
        "group_sop_execution": update(GroupSopExecution).where(
            GroupSopExecution.corp_id == corp_id, or_(
                GroupSopExecution.member_id == external_userid,
                GroupSopExecution.msgid.in_(select(GroupSopExecution.msgid).where(
                    GroupSopExecution.corp_id == corp_id, GroupSopExecution.member_id == external_userid,
                    GroupSopExecution.msgid.is_not(None))))).values(content=None),
        "group_member": update(GroupMember).filter_by(corp_id=corp_id, member_id=external_userid).values(
            name=None, group_nickname=None, unionid=None),
        "archived_message": update(ArchivedMessage).filter_by(corp_id=corp_id, from_id=external_userid)
        .values(body=None),
        "audit_log": update(AuditLog).filter_by(corp_id=corp_id, target_type="customer",
                                                target_id=external_userid).values(detail=None),
        # Events about them name them in the XML; a pending one is still processed (and blanked later).
        "callback_event": update(CallbackEvent).where(
            CallbackEvent.corp_id == corp_id, CallbackEvent.status != EventStatus.PENDING,
            CallbackEvent.payload.contains(external_userid, autoescape=True)).values(payload=ERASED_PAYLOAD),
        "customer_date": delete(CustomerDate).filter_by(**of_customer),
    }
    counts = {table: db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount
              for table, stmt in statements.items()}
    audit(corp_id, actor[:64], "erase_customer", "customer", external_userid,
          detail={"rows": {table: n for table, n in counts.items() if n}})
    db.session.commit()
    db.session.expire_all()
    return counts


def retention_days() -> tuple[int, int]:
    """(inbox payload days, audit days). The one place these settings are read."""
    cfg = settings()
    return cfg.inbox_payload_retention_days, cfg.audit_retention_days


def purge_expired(now: datetime | None = None) -> dict[str, int]:
    """Blank decrypted payloads of finished inbox rows older than the payload retention, and
    delete audit rows older than the audit retention. Set-based; commits."""
    now = now or utcnow()
    payload_days, audit_days = retention_days()
    payloads = db.session.execute(
        update(CallbackEvent)
        .where(CallbackEvent.received_at < now - timedelta(days=payload_days),
               CallbackEvent.status != EventStatus.PENDING, CallbackEvent.payload != ERASED_PAYLOAD)
        .values(payload=ERASED_PAYLOAD).execution_options(synchronize_session=False)).rowcount
    audits = db.session.execute(
        delete(AuditLog).where(AuditLog.at < now - timedelta(days=audit_days))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return {"inbox_payloads": payloads, "audit_rows": audits}


def record_api_reads(corp_id: str, actor: str, action: str, external_userids: Iterable[str]) -> None:
    """One audit row per customer whose personal data an Open API read returned (as the sidebar
    records each profile view). Commits."""
    now = utcnow()
    rows = [{"corp_id": corp_id, "userid": actor[:64], "action": action, "target_type": "customer",
             "target_id": external_userid, "at": now} for external_userid in dict.fromkeys(external_userids)]
    if rows:
        db.session.execute(insert(AuditLog), rows)
    db.session.commit()


__all__ = ["ERASED", "erase_customer", "purge_expired", "record_api_reads", "retention_days"]
