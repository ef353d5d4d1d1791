"""Which role may read or write which endpoint family, and which console page each needs.

A family is a group of Open API resources (one blueprint, or part of one); the console's
requests to /console/api/v1 are checked against this table by scrm/api/auth.py (GET/HEAD/OPTIONS
read, anything else writes). Bearer tokens are not: a token acts for the whole corp within its
own read / write / admin scope.
"""
from __future__ import annotations

from scrm.services.policy.roles import ADMIN, MANAGER, OPERATOR, SALES

READ, WRITE = "read", "write"
R, RW = frozenset({READ}), frozenset({READ, WRITE})
NONE: frozenset[str] = frozenset()

# family → role → actions. Data scope then narrows what a read or write reaches (scope.py).
CAPABILITIES: dict[str, dict[str, frozenset[str]]] = {
    #  family            admin  manager operator sales
    "customers":        {ADMIN: RW, MANAGER: R, OPERATOR: R, SALES: R},
    "groups":           {ADMIN: RW, MANAGER: R, OPERATOR: R, SALES: R},
    "follow_ups":       {ADMIN: RW, MANAGER: R, OPERATOR: R, SALES: R},
    "welcome_outcomes": {ADMIN: RW, MANAGER: R, OPERATOR: R, SALES: R},
    "churn":            {ADMIN: RW, MANAGER: R, OPERATOR: R, SALES: R},
    "recalls":          {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: R},
    "library":          {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: R},
    "channels":         {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: NONE},
    "welcome":          {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: NONE},
    "sops":             {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: NONE},
    "group_sops":       {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: NONE},
    "community":        {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: NONE},
    "group_labels":     {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: NONE},
    "settings":         {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: R},
    "group_stats":      {ADMIN: RW, MANAGER: R, OPERATOR: R, SALES: NONE},
    "handovers":        {ADMIN: RW, MANAGER: RW, OPERATOR: R, SALES: NONE},
    "syncs":            {ADMIN: RW, MANAGER: NONE, OPERATOR: R, SALES: NONE},
    "events":           {ADMIN: RW, MANAGER: NONE, OPERATOR: NONE, SALES: NONE},
    "status":           {ADMIN: RW, MANAGER: NONE, OPERATOR: NONE, SALES: NONE},
    "audit":            {ADMIN: RW, MANAGER: NONE, OPERATOR: NONE, SALES: NONE},
    "roles":            {ADMIN: RW, MANAGER: NONE, OPERATOR: NONE, SALES: NONE},
    "tags":             {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: R},
    "mass_messages":    {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: NONE},
    "segments":         {ADMIN: RW, MANAGER: RW, OPERATOR: RW, SALES: R},
    "bulk":             {ADMIN: RW, MANAGER: R, OPERATOR: RW, SALES: NONE},
    # manager reports: a sales member reads their own figures (data scope self)
    "reports":          {ADMIN: RW, MANAGER: R, OPERATOR: R, SALES: R},
}
FAMILY_LABELS = {
    "customers": "客户", "groups": "客户群", "follow_ups": "跟进记录", "welcome_outcomes": "欢迎语发送结果",
    "churn": "流失风险与预警", "recalls": "召回", "library": "内容库", "channels": "渠道活码", "welcome": "欢迎语",
    "sops": "客户SOP", "group_sops": "群SOP", "community": "群活码与入群欢迎语", "group_labels": "客户群标签",
    "settings": "销售阶段与自定义字段", "group_stats": "群数据报表", "handovers": "离职继承与在职转接",
    "syncs": "同步", "events": "回调记录", "status": "运行状态", "audit": "审计日志", "roles": "成员角色",
    "tags": "企业标签", "mass_messages": "客户群发", "segments": "客户分群", "bulk": "批量操作",
    "reports": "管理报表",
}

# Open API blueprint name → family. sidebar-admin holds several families, told by the path.
BLUEPRINT_FAMILY = {
    "customers": "customers", "groups": "groups", "events": "events", "welcome": "welcome",
    "welcome_outcomes": "welcome_outcomes", "channels": "channels", "sops": "sops", "syncs": "syncs",
    "contents": "library", "status": "status", "community": "community", "group_labels": "group_labels",
    "group_stats": "group_stats", "group_sops": "group_sops", "handovers": "handovers", "churn": "churn",
    "recall": "recalls", "ops": "status", "corp_tags": "tags", "mass_messages": "mass_messages",
    "bulk_jobs": "bulk", "reports": "reports", "reports_funnel": "reports", "reports_churn": "reports",
    "report_channels": "reports", "channel_costs": "channels", "reports_groups": "reports",
}
# customer_search holds the list (customers) and saved segments, told by the path too.
CUSTOMER_SEARCH_FAMILY = {"segments": "segments"}
SIDEBAR_ADMIN_FAMILY = {"staff-roles": "roles", "funnel-stages": "settings", "custom-fields": "settings",
                        "follow-ups": "follow_ups", "audit-log": "audit"}

# Console menu section (console/menu.py slug) → what opening it needs.
PAGES: dict[str, tuple[str, str]] = {
    "customers": ("customers", READ), "groups": ("groups", READ), "channels": ("channels", READ),
    "welcome": ("welcome", READ), "sops": ("sops", READ), "group-sops": ("group_sops", READ),
    "churn": ("churn", READ), "library": ("library", READ), "reports": ("reports", READ),
    "settings": ("settings", WRITE), "operations": ("status", READ), "roles": ("roles", WRITE),
    "community": ("community", READ), "mass-messages": ("mass_messages", READ),
    "jobs": ("bulk", READ),
}


def family_for(blueprint: str | None, path: str) -> str | None:
    """The family of an Open API request; None for a resource this table does not know."""
    name = (blueprint or "").removeprefix("console_")
    segment = path.split("/api/v1/", 1)[-1].split("/", 1)[0]
    if name == "sidebar-admin":
        return SIDEBAR_ADMIN_FAMILY.get(segment)
    if name == "customer_search":
        return CUSTOMER_SEARCH_FAMILY.get(segment, "customers")
    return BLUEPRINT_FAMILY.get(name)


def allows(role: str, family: str | None, action: str) -> bool:
    """Unknown families are the admin's alone (fail closed)."""
    if family is None or family not in CAPABILITIES:
        return role == ADMIN
    return action in CAPABILITIES[family].get(role, NONE)


def can_open(role: str, slug: str) -> bool:
    """Whether a console page (menu section) is open to ``role``; unlisted pages are open to all."""
    need = PAGES.get(slug)
    return need is None or allows(role, *need)
