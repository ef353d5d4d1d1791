"""The churn and recall report as spreadsheet tables (scrm/api/exports.py writes them): the
Chinese column names (shared with the console page) and one table per `rows` choice."""
from __future__ import annotations

from datetime import date

from scrm.models.churn_report import RECALL_FLOWS
from scrm.services.reports import churn
from scrm.services.reports.exporting import Table, _audited

CHURN_LABELS: dict[str, str] = {
    "lost": "流失合计", "lost_by_staff": "删除客户", "lost_by_customer": "被客户删除", "lost_other": "其他流失",
    "entered_active": "转为活跃", "entered_cooling": "进入降温", "entered_dormant": "进入沉睡",
    "entered_lost": "进入流失", "risk_active": "活跃", "risk_cooling": "降温", "risk_dormant": "沉睡",
    "risk_lost": "流失风险", "at_risk": "风险客户合计",
}
RECALL_LABELS: dict[str, str] = {"sent": "召回发送", "confirmed": "已确认发送", "re_engaged": "召回成功",
                                 "expired": "未召回", "rate": "召回率"}
FLOW_COLUMNS = ("lost", "lost_by_staff", "lost_by_customer", "lost_other", "entered_active", "entered_cooling",
                "entered_dormant", "entered_lost")
STOCK_COLUMNS = ("risk_active", "risk_cooling", "risk_dormant", "risk_lost", "at_risk")


def _figures(keys) -> list[tuple[str, str]]:
    return [(key, CHURN_LABELS[key]) for key in keys]


def churn_table(corp_id: str, first: date, last: date, *, visible: frozenset[str] | None,
                department_id: int | None, userid: str | None, per: str, actor: str) -> Table:
    report = churn.report(corp_id, first, last, visible=visible, department_id=department_id, userid=userid)
    if per == "playbooks":
        columns = [("name", "召回策略"), *((key, RECALL_LABELS[key]) for key in (*RECALL_FLOWS, "rate"))]
        rows = [*report["playbooks"], {**report["recall_totals"], "name": "合计"}]
    elif per == "months":
        columns = [("month", "月份"), *_figures(FLOW_COLUMNS)]
        totals = {key: report["totals"][key] for key in FLOW_COLUMNS}
        rows = [*report["months"], {**totals, "month": "合计"}]
    elif per == "channels":
        columns = [("channel_name", "渠道"), ("state", "渠道参数"), *_figures(FLOW_COLUMNS)]
        named = [{**row, "channel_name": row["channel_name"] or ("（无渠道）" if not row["state"] else row["state"])}
                 for row in report["channels"]]
        rows = [*named, {**report["totals"], "channel_name": "合计", "state": ""}]
    else:
        columns = [("name", "成员"), ("userid", "成员账号"), ("department_name", "部门"), *_figures(FLOW_COLUMNS),
                   *_figures(STOCK_COLUMNS)]
        rows = [*report["staff"], {**report["totals"], "name": "合计"}]
    _audited(corp_id, actor, f"churn/{per}", first, last)
    return columns, rows, "流失与召回报表"
