"""The recall area of a relation the customer ended (「客户已删除你」 in the sidebar): the one
place the recall playbooks (issue #13 part 4: a task to reach the customer another way) plug
their task in. Until they do, there is none and the sidebar shows only what we hold (the
relation's remark mobiles, masked by role)."""
from __future__ import annotations

from typing import Any


def recall_task(corp_id: str, userid: str, external_userid: str) -> dict[str, Any] | None:
    """The open recall task of staff member ``userid`` for this customer, or None.

    The shape the sidebar renders (sidebar/CONTRACT.md, ``recall``)::

        {"id": 12, "title": "电话回访", "status_label": "待处理", "due_at": datetime | None,
         "script": "王总您好，…" | None}

    Called once per customer view whose own relation the customer ended, in its transaction."""
    return None
