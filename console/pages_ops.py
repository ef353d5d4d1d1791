"""The 运维 (operations) page, for administrators (issue #14 part 5).

  GET /console/operations   tabs: 运行状态 / 失败任务 / 回调记录 / 同步记录 / 接口错误率 / 审计日志

A shell only: static/operations.js reads and acts through the Open API's resources under
/console/api/v1 (status, jobs/failed, events, syncs, wecom-errors, audit-log). Who may open it is
the policy's (scrm/services/policy: the ``status`` family, administrators only; console/access.py
answers 403 to anyone else, and the Open API's console path checks every request again).
"""
from __future__ import annotations

from console import bp
from console.pages import _shell

SLUG = "operations"


@bp.get("/operations")
def operations_page():
    return _shell("console/operations.html", SLUG, page="operations")
