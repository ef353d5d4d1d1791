"""The console's 报表 pages (issue #15, part 7), one per report, with a row of links between them
(console/templates/console/_report_nav.html). Shells only: the data comes from the Open API's
report endpoints (/console/api/v1/reports/…) with the member's data scope.

  GET /console/reports           the follow-up report (跟进报表); ?from=&to=&department_id=&userid=&figure=
                                 (the morning digest links here)
  GET /console/reports/<kind>    the other reports (REPORT_PAGES), the same range and scope filters
"""
from __future__ import annotations

from flask import abort

from console import bp
from console.pages import _shell
from scrm.models.reports import DRILL_FIGURES
from scrm.services.reports.churn_export import CHURN_LABELS, RECALL_LABELS
from scrm.services.reports.labels import FOLLOW_UP_FIGURES, GROUP_REPORT_FIGURES

# kind → title, in the order the links show; "" is the follow-up report at /console/reports.
# A report page is console/templates/console/reports_<kind>.html, its script registers
# ScrmConsole.pages["reports-<kind>"].
REPORT_PAGES: dict[str, str] = {"": "跟进报表", "channels": "渠道报表", "funnel": "销售漏斗", "groups": "客户群报表",
                                "churn": "流失与召回"}

# kind → what its page needs in the bootstrap beyond the filters (its figures' labels, as the exports name them)
PAGE_DATA: dict[str, dict] = {"churn": {"labels": CHURN_LABELS, "recall_labels": RECALL_LABELS},
                              "groups": {"figures": GROUP_REPORT_FIGURES}}


def _nav(kind: str) -> dict:
    return {"report_pages": REPORT_PAGES, "report_kind": kind}


@bp.get("/reports")
def reports_page():
    return _shell("console/reports.html", "reports", page="reports", figures=FOLLOW_UP_FIGURES,
                  drill_figures=list(DRILL_FIGURES), **_nav(""))


@bp.get("/reports/<kind>")
def report_kind_page(kind: str):
    if not kind or kind not in REPORT_PAGES:
        abort(404)
    return _shell(f"console/reports_{kind}.html", "reports", page=f"reports-{kind}", **PAGE_DATA.get(kind, {}),
                  **_nav(kind))
