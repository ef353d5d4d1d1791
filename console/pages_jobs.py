"""任务中心: bulk jobs and mass messages with their progress (data: /console/api/v1/bulk-jobs and
/console/api/v1/mass-messages); a bulk job's drawer lists its failed items."""
from __future__ import annotations

from console import bp
from console.pages import _shell


@bp.get("/jobs")
def jobs_page():
    return _shell("console/jobs.html", "jobs", page="jobs")
