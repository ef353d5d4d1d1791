"""The channel report as a spreadsheet table (scrm/api/exports.py writes it): Chinese column
names (labels.CHANNEL_FIGURES), money in yuan, one row per code, the row of no channel, a total."""
from __future__ import annotations

from datetime import date

from scrm.services.reports import channels
from scrm.services.reports.exporting import Table, _audited
from scrm.services.reports.labels import CHANNEL_FIGURES, NO_CHANNEL_LABEL


def _yuan(fen: int | None) -> float | None:
    return None if fen is None else round(fen / 100, 2)


def table(corp_id: str, first: date, last: date, *, visible: frozenset[str] | None, department_id: int | None,
          userid: str | None, actor: str) -> Table:
    report = channels.report(corp_id, first, last, visible=visible, department_id=department_id, userid=userid)

    def shaped(row: dict, name: str) -> dict:
        return {**row, "name": name, **{k: _yuan(v) for k, v in row.items() if k.endswith("_fen")},
                **{f"stage_{stage['id']}": row["stages"].get(str(stage["id"]), 0) for stage in report["stages"]}}

    rows = [shaped(row, row["name"] if row["channel_id"] else NO_CHANNEL_LABEL) for row in report["channels"]]
    rows.append(shaped(report["totals"], "合计"))
    columns = [("name", "渠道"), ("state", "渠道参数"), *CHANNEL_FIGURES.items(),
               *((f"stage_{stage['id']}", f"阶段：{stage['name']}") for stage in report["stages"])]
    _audited(corp_id, actor, "channels", first, last)
    return columns, rows, "渠道报表"
