"""任务中心: bulk jobs and mass messages with their progress (data: /console/api/v1/bulk-jobs and
/console/api/v1/mass-messages); a bulk job's drawer lists its failed items. The bootstrap carries
the staff and corp tags the 新建批量操作 dialog picks from (as the operator pages do)."""
from __future__ import annotations

from flask import g

from console import bp
from console.pages import _shell
from scrm.services.console.operator_options import options


@bp.get("/jobs")
def jobs_page():
    return _shell("console/jobs.html", "jobs", page="jobs", options=options(g.console.corp_id))
