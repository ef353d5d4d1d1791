"""Typed SQLAlchemy 2.0 models, one module per aggregate."""
from scrm.models.bulk import BulkItemStatus, BulkJob, BulkJobItem, BulkKind, BulkStatus
from scrm.models.channel import Channel, ChannelAdd, ChannelStatus
from scrm.models.channel_report import ChannelCost, ChannelDailyStat, ChannelMonthStat
from scrm.models.churn import (
    ChurnRun,
    ChurnSetting,
    ChurnThreshold,
    RelationActivityDay,
    RelationRisk,
    RiskLevel,
    StaffBehaviorDay,
)
from scrm.models.churn_alert import AlertKind, AlertStatus, ChurnAlert, ChurnDigestRun
from scrm.models.churn_report import ChurnDailyStat, ChurnMonthStat, RecallDailyStat, RiskDailyStat
from scrm.models.community import (
    CommunityStatus,
    GroupCode,
    GroupCodeChat,
    GroupLabel,
    GroupLabelLink,
    GroupWelcomeTemplate,
)
from scrm.models.console import ConsoleAdmin, ConsoleSession
from scrm.models.corp import ApiToken, Corp, Department, Staff
from scrm.models.customer import Customer, FollowRelation, RelationStatus, RelationTag, TimelineEntry
from scrm.models.digest import DigestKind, DigestMessage, DigestRun, DigestStatus
from scrm.models.funnel import StageDailyStat, StageDailyTotal
from scrm.models.group import GroupChat, GroupChatStatus, GroupMember
from scrm.models.group_report import GroupOwnerDailyRollup, GroupSopDailyStat
from scrm.models.group_sop import (
    ExecutionStatus,
    GroupSop,
    GroupSopExecution,
    GroupSopStatus,
    GroupSopStep,
    ScheduleKind,
)
from scrm.models.group_stats import GroupDailyStat, GroupOwnerDailyStat, GroupStatsPull
from scrm.models.handover import BatchStatus, HandoverBatch, HandoverItem, HandoverKind, ItemStatus
from scrm.models.inbox import CallbackEvent, EventStatus
from scrm.models.mass_message import (
    MassMessage,
    MassMessageRecipient,
    MassMessageStatus,
    MassMessageTask,
    MassRecipientStatus,
    MassTaskStatus,
)
from scrm.models.media import MediaAsset, MediaStatus
from scrm.models.message import AppMessage, ArchiveCursor, ArchivedMessage
from scrm.models.recall import (
    PlaybookStatus,
    Recall,
    RecallAction,
    RecallOutcome,
    RecallPlaybook,
    RecallScan,
    RecallStatus,
    RecallTrigger,
)
from scrm.models.reports import ReportRun, StaffDailyStat, StaffMonthlyStat
from scrm.models.search import RelationSearch
from scrm.models.segment import CustomerSegment
from scrm.models.sidebar import (
    AuditLog,
    ContentItem,
    ContentKind,
    CustomerFieldValue,
    CustomerStage,
    CustomField,
    DataScope,
    FieldType,
    FollowUp,
    FollowUpKind,
    FunnelStage,
    RoleName,
    StaffRole,
)
from scrm.models.sop import (
    CustomerDate,
    EnrollmentStatus,
    Sop,
    SopEnrollment,
    SopStatus,
    SopStep,
    SopTask,
    TaskStatus,
)
from scrm.models.sync import SyncRun, SyncStatus
from scrm.models.tag import Tag, TagGroup
from scrm.models.welcome import WelcomeMessage, WelcomeStatus, WelcomeTemplate, WelcomeTemplateStaff

__all__ = [
    "CommunityStatus", "GroupCode", "GroupCodeChat", "GroupLabel", "GroupLabelLink", "GroupWelcomeTemplate",
    "ApiToken", "AppMessage", "ArchiveCursor", "ArchivedMessage", "CallbackEvent", "Corp",
    "Customer", "Department", "EventStatus", "FollowRelation", "GroupChat", "GroupChatStatus",
    "GroupMember", "RelationStatus", "RelationTag", "Staff", "SyncRun", "SyncStatus", "Tag", "TagGroup",
    "TimelineEntry",
    "WelcomeMessage", "WelcomeStatus",
    # welcome templates, channel codes, media, customer SOPs (issue #5)
    "Channel", "ChannelAdd", "ChannelCost", "ChannelDailyStat", "ChannelMonthStat",
    "ChannelStatus", "CustomerDate", "EnrollmentStatus",
    "MediaAsset",
    "MediaStatus", "Sop", "SopEnrollment", "SopStatus", "SopStep", "SopTask", "TaskStatus",
    "WelcomeTemplate", "WelcomeTemplateStaff",
    # the chat sidebar (issue #6)
    "AuditLog", "ContentItem", "ContentKind", "CustomField", "CustomerFieldValue", "CustomerStage",
    "DataScope", "FieldType", "FollowUp", "FollowUpKind", "FunnelStage", "RoleName", "StaffRole",
    # group analytics (issue #12)
    "GroupDailyStat", "GroupOwnerDailyStat", "GroupStatsPull",
    # group SOPs (issue #12)
    "ExecutionStatus", "GroupSop", "GroupSopExecution", "GroupSopStatus", "GroupSopStep", "ScheduleKind",
    # staff departure and reassignment (issue #13, part 6)
    "BatchStatus", "HandoverBatch", "HandoverItem", "HandoverKind", "ItemStatus",
    # churn scoring (issue #13)
    "ChurnRun", "ChurnSetting", "ChurnThreshold", "RelationActivityDay", "RelationRisk", "RiskLevel",
    "StaffBehaviorDay",
    # recall playbooks (issue #13, part 4)
    "PlaybookStatus", "Recall", "RecallAction", "RecallOutcome", "RecallPlaybook", "RecallScan", "RecallStatus",
    "RecallTrigger",
    # churn alerts (issue #13, part 3)
    "AlertKind", "AlertStatus", "ChurnAlert", "ChurnDigestRun",
    # the console's sign-in (issue #14)
    "ConsoleAdmin", "ConsoleSession",
    # mass messages to a segment (issue #14, part 4)
    "MassMessage", "MassMessageRecipient", "MassMessageStatus", "MassMessageTask", "MassRecipientStatus",
    "MassTaskStatus",
    # saved customer segments (issue #14, part 4)
    "CustomerSegment",
    # the customer list's search rows (issue #14)
    "RelationSearch",
    # bulk actions on customers (issue #14, part 4)
    "BulkItemStatus", "BulkJob", "BulkJobItem", "BulkKind", "BulkStatus",
    # manager reports (issue #15)
    "ReportRun", "StaffDailyStat", "StaffMonthlyStat", "StageDailyStat", "StageDailyTotal",
    "ChurnDailyStat", "ChurnMonthStat", "RecallDailyStat", "RiskDailyStat",
    # the groups report (issue #15, part 4)
    "GroupOwnerDailyRollup", "GroupSopDailyStat",
    # the morning digest (issue #15, part 8)
    "DigestKind", "DigestMessage", "DigestRun", "DigestStatus",
]
