"""A hand-built member history in Asia/Shanghai (the default SCRM_TIMEZONE) for the analytics tests.

Local days 2026-11-10 (D1), 11-11 (D2), 11-12 (D3); a local day starts at 16:00 UTC the day before.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from scrm.extensions import db
from scrm.models import GroupChat, GroupCode, GroupMember
from tests.conftest import TEST_CORP_ID

SHANGHAI = timezone(timedelta(hours=8))
D1, D2, D3 = date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)


def local(text: str) -> datetime:
    """'2026-11-10 00:30' Shanghai time → naive UTC (as rows store it)."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def member(chat_id: str, member_id: str, kind: int, joined: str | None, scene: int | None = 1, *,
           state: str | None = None, quit_at: str | None = None, quit_scene: int | None = None) -> GroupMember:
    return GroupMember(corp_id=TEST_CORP_ID, chat_id=chat_id, member_id=member_id, type=kind,
                       join_time=local(joined) if joined else None, join_scene=scene, state=state,
                       quit_time=local(quit_at) if quit_at else None, quit_scene=quit_scene)


@pytest.fixture
def history(app):
    rows = [
        GroupCode(corp_id=TEST_CORP_ID, name="春季活动", state="gc_spring"),
        GroupChat(corp_id=TEST_CORP_ID, chat_id="wrG1", owner="zhangsan", create_time=local("2026-11-01 09:00")),
        GroupChat(corp_id=TEST_CORP_ID, chat_id="wrG2", owner="lisi", create_time=local("2026-11-11 10:00")),
        GroupChat(corp_id=TEST_CORP_ID, chat_id="wrG3", owner="zhangsan", create_time=local("2026-11-01 09:00"),
                  status="dismissed", dismissed_at=local("2026-11-11 04:00")),
        GroupChat(corp_id="wwothercorp000002", chat_id="wrX", owner="zhangsan", create_time=local("2026-11-01 09:00")),
        member("wrG1", "zhangsan", 1, "2026-11-01 09:00"),
        member("wrG1", "wmC1", 2, "2026-11-10 00:30", 3, state="gc_spring"),
        member("wrG1", "wmC2", 2, "2026-11-10 23:59", 2, quit_at="2026-11-11 00:10", quit_scene=0),
        member("wrG1", "wmC3", 2, "2026-11-09 12:00", 1, quit_at="2026-11-11 12:00", quit_scene=1),
        member("wrG1", "wmC4", 2, None, None),
        member("wrG1", "wmC5", 2, "2026-11-12 08:00", 3, state="not_ours"),
        member("wrG2", "lisi", 1, "2026-11-11 10:00"),
        member("wrG2", "wmC6", 2, "2026-11-11 10:05", 2),
        member("wrG3", "wmC7", 2, "2026-11-05 10:00"),
        GroupMember(corp_id="wwothercorp000002", chat_id="wrX", member_id="wmZ", type=2,
                    join_time=local("2026-11-10 10:00"), join_scene=1),
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows
