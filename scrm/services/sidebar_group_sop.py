"""The chat sidebar's group SOP use cases (sidebar/content.py is their HTTP adapter): a reminder
execution's content to send and "sent", for the group's current owner only
(scrm/services/group_sop/sidebar.py). Each owns its transaction (sidebar_actions.use_case)."""
from __future__ import annotations

from typing import Any

from scrm.clock import iso_z
from scrm.services.group_sop import sidebar as group_sop_sidebar
from scrm.services.group_sop.sidebar import Closed, NotFound, NotYours
from scrm.services.sidebar_actions import use_case

__all__ = ["Closed", "NotFound", "NotYours", "execution", "execution_sent"]


@use_case
def execution(corp_id: str, userid: str, execution_id: int) -> dict[str, Any]:
    return group_sop_sidebar.execution_view(group_sop_sidebar.own_execution(corp_id, userid, execution_id))


@use_case
def execution_sent(corp_id: str, userid: str, execution_id: int, *, ip: str | None = None) -> dict[str, Any]:
    done = group_sop_sidebar.record_sent(group_sop_sidebar.own_execution(corp_id, userid, execution_id), userid,
                                         ip=ip)
    return {"id": done.id, "status": done.status, "sent_at": iso_z(done.sent_at)}
