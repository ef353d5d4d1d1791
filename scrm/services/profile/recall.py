"""The recall playbooks in the customer view (issue #13 part 4, scrm/services/recall): for a
relation the customer ended (「客户已删除你」), the task to reach the customer another way, shown
with the relation's remark mobiles masked by role; for an active one, the recall reminders whose
script is waiting to be sent."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrm.services.recall import sidebar as recall_sidebar


def recall_task(corp_id: str, userid: str, external_userid: str) -> dict[str, Any] | None:
    """The open recall task of staff member ``userid`` for this customer, or None.

    The shape the sidebar renders (sidebar/CONTRACT.md, ``recall``)::

        {"id": 12, "title": "找回客户：电话回访", "status_label": "待处理", "due_at": datetime | None,
         "script": "王总您好，…" | None, "done_at": datetime | None}

    Called once per customer view whose own relation the customer ended, in its transaction:
    one indexed read."""
    return recall_sidebar.recall_task(corp_id, userid, external_userid)


def recall_reminders(corp_id: str, userid: str, external_userid: str) -> list[dict[str, Any]]:
    """This staff member's recall reminders for the customer not yet sent from the sidebar
    (sidebar/CONTRACT.md ``recall_reminders``): ``[{"id", "playbook_name", "due_at"}]``."""
    return recall_sidebar.pending_reminders(corp_id, userid, external_userid)


def recall_reminders_from_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """recall_reminders() of the rows of scrm.services.recall.sidebar.reminders_query (the
    profile reads them in one batch with its other reads, reads.py)."""
    return recall_sidebar.reminders_from_rows(rows)
