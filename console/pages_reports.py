"""The console's 报表 page (issue #15, part 7): the follow-up report (跟进报表) with a date range,
department and member filters, an ECharts chart, tables per member and department, the
customers behind a figure, and XLSX / CSV exports. A shell only: the data comes from
/console/api/v1/reports/follow-up[/drill][/export] with the member's data scope.

  GET /console/reports   ?from=&to=&department_id=&userid=&figure= (the morning digest links here)
"""
from __future__ import annotations

from console import bp
from console.pages import _shell
from scrm.models.reports import DRILL_FIGURES
from scrm.services.reports.labels import FOLLOW_UP_FIGURES


@bp.get("/reports")
def reports_page():
    return _shell("console/reports.html", "reports", page="reports", figures=FOLLOW_UP_FIGURES,
                  drill_figures=list(DRILL_FIGURES))
