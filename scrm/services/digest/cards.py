"""What the morning digest says: a `message/send` template card of type text_notice (a title, one
emphasised figure, up to six key/value rows, a link; WeCom's limits: keyname ≤ 5 characters and
value ≤ 26 recommended, ≤ 6 rows, card_action required). Template cards are plain text, not HTML;
customer names are cut to fit. The link opens the console's follow-up report (the manager's
team for yesterday; a member's own overdue follow-ups)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from scrm.config import settings
from scrm.models import DigestKind, DigestMessage
from scrm.services import localtime

REPORT_PATH = "/console/reports"
SOURCE = {"desc": "SCRM 晨报", "desc_color": 0}
NAME_CHARS = 12


def _day_label(day: date) -> str:
    return f"{day.month}月{day.day}日"


def _url(**params: str) -> str:
    return f"{settings().public_url}{REPORT_PATH}?{urlencode(params)}"


def _minutes(seconds: int | None) -> str:
    return "—" if seconds is None else f"{round(seconds / 60)} 分钟"


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:g}%"


def compose(row: DigestMessage) -> tuple[str, dict[str, Any]]:
    """(msgtype, content) for message/send."""
    card = manager_card(row.data) if row.kind == DigestKind.MANAGER else staff_card(row.userid, row.data)
    return "template_card", card


def manager_card(data: dict[str, Any]) -> dict[str, Any]:
    day = date.fromisoformat(data["day"])
    url = _url(**{"from": day.isoformat(), "to": day.isoformat()})
    return {
        "card_type": "text_notice", "source": SOURCE,
        "main_title": {"title": f"团队昨日跟进 · {_day_label(day)}", "desc": f"{data.get('members') or 0} 位成员"},
        "emphasis_content": {"title": str(data.get("new_customers") or 0), "desc": "昨日新增客户"},
        "horizontal_content_list": [
            {"keyname": "客户总数", "value": str(data.get("customers") or 0)},
            {"keyname": "流失客户", "value": str(data.get("lost") or 0)},
            {"keyname": "跟进记录", "value": str(data.get("follow_ups") or 0)},
            {"keyname": "逾期未跟进", "value": str(data.get("next_overdue") or 0)},
            {"keyname": "首次回复", "value": _minutes(data.get("first_reply_avg_seconds"))},
            {"keyname": "回复率", "value": _percent(data.get("reply_rate"))},
        ],
        "jump_list": [{"type": 1, "title": "查看跟进报表", "url": url}],
        "card_action": {"type": 1, "url": url},
    }


def _cut(name: str | None) -> str:
    name = (name or "未命名客户").strip() or "未命名客户"
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def staff_card(userid: str, data: dict[str, Any]) -> dict[str, Any]:
    as_of = localtime.to_local(datetime.fromisoformat(data["as_of"]))
    rows = []
    for customer in data.get("customers") or []:
        due = customer.get("due_at")
        days = (as_of.date() - localtime.to_local(datetime.fromisoformat(due)).date()).days if due else None
        late = "今天到期" if not days else f"逾期 {days} 天"
        rows.append({"keyname": "客户", "value": f"{_cut(customer.get('name'))}（{late}）"})
    url = _url(figure="next_overdue", userid=userid)
    total = int(data.get("overdue") or 0)
    more = total - len(rows)
    return {
        "card_type": "text_notice", "source": SOURCE,
        "main_title": {"title": "待跟进提醒", "desc": f"截至 {as_of:%m月%d日 %H:%M}"},
        "emphasis_content": {"title": str(total), "desc": "位客户的跟进已逾期"},
        "sub_title_text": f"另有 {more} 位未列出，点开查看全部。" if more > 0 else "点开查看并逐一跟进。",
        "horizontal_content_list": rows[:6],
        "jump_list": [{"type": 1, "title": "查看逾期跟进", "url": url}],
        "card_action": {"type": 1, "url": url},
    }
