"""The funnel report as a spreadsheet table (scrm/api/exports.py writes it): per member, channel
code or stage; Chinese column names; an audit row per export."""
from __future__ import annotations

from datetime import date

from scrm.services.reports import funnel
from scrm.services.reports.exporting import Table, _audited

TITLE = "销售漏斗"


def _per_stage(report: dict) -> list[tuple[str, str]]:
    columns = []
    for st in report["stages"]:
        columns += [(f"c{st['stage_id']}", f"{st['name']}·客户数"), (f"e{st['stage_id']}", f"{st['name']}·进入")]
    return columns


def _flat(row: dict) -> dict:
    out = {k: v for k, v in row.items() if k != "stages"}
    for cell in row["stages"]:
        out[f"c{cell['stage_id']}"], out[f"e{cell['stage_id']}"] = cell["customers"], cell["entered"]
    return out


def table(corp_id: str, first: date, last: date, *, per: str, actor: str, **filters) -> Table:
    report = funnel.report(corp_id, first, last, **filters)
    _audited(corp_id, actor, f"funnel/{per}", first, last)
    if per == "stages":
        columns = [("name", "阶段"), ("customers", "客户数"), ("entered", "进入"), ("conversion", "转化率(%)")]
        rows = [{**st, "conversion": round(st["conversion"] * 100, 2) if st["conversion"] is not None else None}
                for st in report["stages"]]
        total = {"name": "合计", "customers": report["customers"],
                 "entered": sum(st["entered"] for st in report["stages"])}
        return columns, [*rows, total], TITLE
    cells = [{k: st[k] for k in ("stage_id", "customers", "entered")} for st in report["stages"]]
    totals = {"customers": report["customers"], "stages": cells}
    if per == "channels":
        head = [("name", "渠道"), ("channel", "渠道标识")]
        rows = report["channels"]
    else:
        head = [("name", "成员"), ("userid", "成员账号"), ("department_name", "部门")]
        rows = [{**r, "name": r["name"] or r["userid"]} for r in report["staff"]]
    columns = [*head, ("customers", "客户数"), *_per_stage(report)]
    return columns, [*(_flat(r) for r in rows), _flat({**totals, "name": "合计"})], TITLE
