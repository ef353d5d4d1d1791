"""The churn-risk card of the sidebar: the relation's risk as the nightly scoring left it
(scrm/services/churn, issue #13), in the shape the sidebar renders. Before the relation's
first scoring there is no assessment and the card says 「流失风险：暂无评估」."""
from __future__ import annotations

from typing import Any

from scrm.services import churn

RISK_LEVELS = ("active", "cooling", "dormant", "lost")


_UNREAD: Any = object()


def relation_risk(corp_id: str, userid: str, external_userid: str, *, row: Any = _UNREAD) -> dict[str, Any] | None:
    """The risk of the relation between staff member ``userid`` and the customer, or None when
    there is no assessment (no relation of theirs, or not scored yet).

    The shape the sidebar renders (sidebar/CONTRACT.md, ``churn_risk``)::

        {"level": "active|cooling|dormant|lost", "level_label": "活跃|降温|沉睡|流失",
         "days_silent": 31 | None, "last_interaction_at": datetime | None,
         "trend": "up|flat|down", "score": 0..100, "reasons": ["已 31 天无互动", …]}

    Called once per customer view, in its transaction: one indexed read, or none when the view
    read ``row`` (churn.risk_query()'s, None: no row) in its batch (reads.py)."""
    risk = churn.risk_for(corp_id, userid, external_userid) if row is _UNREAD else churn.risk_from_row(row)
    if risk is None:
        return None
    return {"level": risk["level"], "level_label": risk["label"], "days_silent": risk["days_silent"],
            "last_interaction_at": risk["last_interaction_at"], "trend": risk["trend"], "score": risk["score"],
            "reasons": [reason["text"] for reason in risk["reasons"]]}
