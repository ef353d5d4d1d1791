"""What the chat sidebar (issue #6) adds: staff roles and data scope, the audit log, follow-ups,
the sales funnel, corp-defined custom fields, and the content library (话术 and 素材)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models.base import CorpScoped, Timestamped


class DataScope(StrEnum):
    SELF = "self"              # customers this staff member follows, groups they own or are in
    DEPARTMENT = "department"  # ... or that a member of their departments or those below follows / owns
    CORP = "corp"              # every customer and group of the corp


class RoleName(StrEnum):
    """A member's role (scrm/services/policy decides what each may do)."""

    ADMIN = "admin"        # everything, including roles, erasure and the deployment's status
    MANAGER = "manager"    # reads everything in scope, approves handovers
    OPERATOR = "operator"  # sets up channels, welcome, SOPs, the library, labels, recalls
    SALES = "sales"        # their own customers and groups


class StaffRole(CorpScoped, Timestamped, db.Model):
    """A staff member's role in the SCRM. No row: the default from WeCom (a department leader is a
    manager with scope department, anyone else sales with scope self; mobiles masked)."""

    __tablename__ = "staff_role"
    __table_args__ = (UniqueConstraint("corp_id", "userid"),)
    userid: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32), default=RoleName.SALES)  # RoleName
    data_scope: Mapped[str] = mapped_column(String(16), default=DataScope.SELF)
    can_view_mobile: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditLog(CorpScoped, db.Model):
    """Who viewed or changed what, when (every sidebar profile view and change)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "corp_id", "target_type", "target_id", "at"),
                      Index("ix_audit_log_actor", "corp_id", "userid", "at"),
                      Index("ix_audit_log_at", "at"))  # the retention purge
    userid: Mapped[str] = mapped_column(String(64))  # the staff member acting
    action: Mapped[str] = mapped_column(String(48))  # view_customer, edit_tags, follow_up, ...
    target_type: Mapped[str] = mapped_column(String(16))  # customer | group | content | sop_task | group_sop
    target_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FollowUpKind(StrEnum):
    CHAT = "chat"
    CALL = "call"
    VISIT = "visit"
    NOTE = "note"


class FollowUp(CorpScoped, Timestamped, db.Model):
    """跟进记录: what a staff member did with a customer, and when to follow up next."""

    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_customer", "corp_id", "external_userid", "created_at"),
                      Index("ix_follow_up_due", "reminder_status", "next_at"))
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    next_at: Mapped[datetime | None] = mapped_column(DateTime)  # next follow-up (UTC)
    # none (no next_at) | pending | sent | failed
    reminder_status: Mapped[str] = mapped_column(String(16), default="none")
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)
    reminder_error: Mapped[str | None] = mapped_column(Text)
    # Who is reminded of next_at when it is not the author: the successor once the customer was
    # handed over (scrm/services/handover). `userid` stays the author.
    assignee_userid: Mapped[str | None] = mapped_column(String(64))


class FunnelStage(CorpScoped, Timestamped, db.Model):
    """A stage of the corp's sales funnel (e.g. 初步接触 → 意向 → 报价 → 成交)."""

    __tablename__ = "funnel_stage"
    name: Mapped[str] = mapped_column(String(32))
    order: Mapped[int] = mapped_column(default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class CustomerStage(CorpScoped, Timestamped, db.Model):
    """The customer's current funnel stage (one per customer per corp)."""

    __tablename__ = "customer_stage"
    __table_args__ = (UniqueConstraint("corp_id", "external_userid"),
                      Index("ix_customer_stage_probe", "corp_id", "external_userid", "stage_id"))  # the list's filter
    external_userid: Mapped[str] = mapped_column(String(64))
    stage_id: Mapped[int] = mapped_column(ForeignKey("funnel_stage.id"))
    updated_by: Mapped[str | None] = mapped_column(String(64))


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    SELECT = "select"  # single choice among `options`


class CustomField(CorpScoped, Timestamped, db.Model):
    """A corp-defined customer field. A date field's values are also customer dates (SOP anchors)
    under the field's key."""

    __tablename__ = "custom_field"
    __table_args__ = (UniqueConstraint("corp_id", "key"),)
    key: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(16))
    options: Mapped[list | None] = mapped_column(JSON)  # select: ["A", "B", ...]
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    order: Mapped[int] = mapped_column(default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class CustomerFieldValue(CorpScoped, Timestamped, db.Model):
    __tablename__ = "customer_field_value"
    __table_args__ = (UniqueConstraint("corp_id", "external_userid", "field_id"),)
    external_userid: Mapped[str] = mapped_column(String(64))
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_field.id"))
    value: Mapped[str | None] = mapped_column(Text)  # text; number and date as their ISO text
    updated_by: Mapped[str | None] = mapped_column(String(64))


class ContentKind(StrEnum):
    TEXT = "text"                # 话术: {"content": "..."}
    IMAGE = "image"              # {"media": <MediaAsset id>}
    LINK = "link"                # {"url", "title", "desc"?, "picurl"?}
    MINIPROGRAM = "miniprogram"  # {"appid", "page", "title", "media": <image MediaAsset id>}


class ContentItem(CorpScoped, Timestamped, db.Model):
    """An item of the content library: a script (话术) or a material (素材), sent into the
    current chat from the sidebar in one tap (sendChatMessage)."""

    __tablename__ = "content_item"
    __table_args__ = (Index("ix_content_item_category", "corp_id", "category"),)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32), default="默认")
    title: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict] = mapped_column(JSON)
    keywords: Mapped[str | None] = mapped_column(String(256))
    use_count: Mapped[int] = mapped_column(default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
