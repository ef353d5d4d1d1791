"""The churn-risk card of the sidebar: the one place the scoring side (issue #13 parts 1–2,
nightly RFE scoring) plugs its result in. Until it does, there is no assessment and the card
says 「流失风险：暂无评估」."""
from __future__ import annotations

from typing import Any

RISK_LEVELS = ("active", "cooling", "dormant", "lost")


def relation_risk(corp_id: str, userid: str, external_userid: str) -> dict[str, Any] | None:
    """The risk of the relation between staff member ``userid`` and the customer, or None when
    there is no assessment (no relation of theirs, or not scored yet).

    The shape the sidebar renders (sidebar/CONTRACT.md, ``churn_risk``)::

        {"level": "active|cooling|dormant|lost", "level_label": "活跃|降温|沉睡|流失",
         "days_silent": 31 | None, "last_interaction_at": datetime | None,
         "reasons": ["31 天没有互动", …]}

    Called once per customer view, in its transaction: keep it to one indexed read."""
    return None
