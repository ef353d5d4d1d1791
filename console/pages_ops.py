"""The 运维 (operations) page, for administrators (issue #14 part 5).

  GET /console/operations   tabs: 运行状态 / 失败任务 / 回调记录 / 同步记录 / 接口错误率 / 审计日志

A shell only: static/operations.js reads and acts through the Open API's resources under
/console/api/v1 (status, jobs/failed, events, syncs, wecom-errors, audit-log), whose admin scope
a console session gets only as a local administrator or a member with the admin role
(scrm/services/tokens.py console_grant). The page checks the same before it renders.
"""
from __future__ import annotations

from flask import g, render_template

from console import bp
from console.pages import _shell
from scrm.services.access import role_of

SLUG = "operations"


def is_administrator() -> bool:
    """A local administrator, or a member whose role is admin (until the policy module decides)."""
    principal = g.console
    return principal.kind == "admin" or role_of(principal.corp_id, principal.userid).role == "admin"


@bp.get("/operations")
def operations_page():
    if not is_administrator():
        return render_template("console/message.html", title="没有权限",
                               message="运维页面仅限管理员访问。", link="/console/", link_text="返回工作台"), 403
    return _shell("console/operations.html", SLUG, page="operations")
